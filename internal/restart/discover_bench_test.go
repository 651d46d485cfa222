package restart

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// BenchmarkDiscoverInRetained is the heap that DiscoverIn's result keeps per dependent workload
// (B/workload): a run holds every dependent of every target until it ends (20,000 at 10,000
// namespaces, issue 17), so what one keeps counts 20,000 times.
func BenchmarkDiscoverInRetained(b *testing.B) {
	const namespaces = 1000
	var objs []runtime.Object
	keep := map[string]bool{}
	for i := range namespaces {
		ns := fmt.Sprintf("ns-%05d", i)
		keep[ns] = true
		for _, name := range []string{"direct", "via-sa"} {
			d := deployment(ns, name, podSpec("", "pull"))
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
			objs = append(objs, d)
		}
	}
	c := fake.NewClientset(objs...)
	for b.Loop() {
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		ws, err := DiscoverIn(context.Background(), c, keep, "pull", func(string, string) bool { return false })
		if err != nil || len(ws) != 2*namespaces {
			b.Fatalf("DiscoverIn: %d workloads, %v", len(ws), err)
		}
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(ws)), "B/workload")
		goruntime.KeepAlive(ws)
	}
}
