package rotation

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/restart"
)

// BenchmarkRestartVerdicts is a run's verdicts on, and report of, the 20,000 dependents of
// 10,000 namespaces that need no restart (IfNeeded, no pods): the fresh service at scale of
// issue 17, whose every run holds them all (B/op is what one run allocates for them).
func BenchmarkRestartVerdicts(b *testing.B) {
	const namespaces = 10000
	cred := &config.Credential{Name: "c"}
	cred.Restart.Policy = config.RestartIfNeeded
	cred.Targets.SecretName = "pull"
	p := &plan{cred: cred, decision: IssueNew, snapshot: snapshot{pods: map[string][]corev1.Pod{}}}
	for i := range namespaces {
		ns := fmt.Sprintf("ns-%05d", i)
		p.namespaces = append(p.namespaces, ns)
		for _, name := range []string{"direct", "via-sa"} {
			p.workloads = append(p.workloads, restart.Workload{Kind: restart.KindDeployment, Namespace: ns, Name: name,
				Via: "imagePullSecrets", Images: []string{"registry.example/p/app:1"}})
		}
	}
	r := &Runner{}
	b.ReportAllocs()
	for b.Loop() {
		p.decideRestarts(false)
		rep := &Report{}
		if out := r.restartWorkloads(context.Background(), p, "fp", rep); out.restarted != 0 || len(rep.Workloads) != 2*namespaces {
			b.Fatalf("restarted %d, reported %d", out.restarted, len(rep.Workloads))
		}
	}
}
