package sim

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/fake"
)

// The bare fake clientset does not do what the state Store relies on; the simulation's does.
func TestFakeAPIServerEnforcesWhatTheStoreReliesOn(t *testing.T) {
	bare := fake.NewSimpleClientset()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", ResourceVersion: "41"}}
	if _, err := bare.CoreV1().Secrets("ns").Create(bg, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.ResourceVersion = "stale"
	if _, err := bare.CoreV1().Secrets("ns").Update(bg, s, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("the bare fake now refuses a stale update (%v): the reactor may be redundant", err)
	}

	w, err := newWorld(1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := w.clusters[0].cs.CoreV1().Secrets("team-a")
	if _, err := w.clusters[0].cs.CoreV1().Secrets("nowhere").Create(bg, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("create in a missing namespace: %v, want NotFound", err)
	}
	created, err := cs.Create(bg, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"k": []byte("v")}}, metav1.CreateOptions{})
	if err != nil || created.ResourceVersion == "" || created.UID == "" {
		t.Fatalf("create: %+v %v, want a resourceVersion and a UID", created, err)
	}
	upd := created.DeepCopy()
	upd.Data["k"] = []byte("w")
	updated, err := cs.Update(bg, upd, metav1.UpdateOptions{})
	if err != nil || updated.ResourceVersion == created.ResourceVersion {
		t.Fatalf("update: %v; resourceVersion %s → %s", err, created.ResourceVersion, updated.ResourceVersion)
	}
	if _, err := cs.Update(bg, upd, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: %v, want Conflict", err)
	}
	imm := updated.DeepCopy()
	yes := true
	imm.Immutable = &yes
	if imm, err = cs.Update(bg, imm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	imm.Data["k"] = []byte("x")
	if _, err := cs.Update(bg, imm, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("update of an immutable Secret's data: %v, want Invalid", err)
	}
	imm.Data["k"] = []byte("w")
	imm.Labels = map[string]string{"x": "y"}
	if _, err := cs.Update(bg, imm, metav1.UpdateOptions{}); err != nil {
		t.Errorf("metadata of an immutable Secret: %v, want allowed", err)
	}
	if err := cs.Delete(bg, "s", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete of an immutable Secret: %v, want allowed", err)
	}
}

// The restart's patch, applied by the fast path, gives what the generic strategic merge gives.
func TestTemplateAnnotationPatchMatchesStrategicMerge(t *testing.T) {
	w, err := newWorld(1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	apps := w.clusters[0].cs.AppsV1().Deployments("team-a")
	before, _ := apps.Get(bg, "web", metav1.GetOptions{})
	before.Spec.Template.Annotations = map[string]string{"keep": "me"}
	if before, err = apps.Update(bg, before, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"spec":{"template":{"metadata":{"annotations":{"rotator.dev/fp-main":"abc"}}}}}`)
	old, _ := json.Marshal(before)
	merged, err := strategicpatch.StrategicMergePatch(old, body, &appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	var want appsv1.Deployment
	if err := json.Unmarshal(merged, &want); err != nil {
		t.Fatal(err)
	}
	got, err := apps.Patch(bg, "web", types.StrategicMergePatchType, body, metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got.Spec, want.Spec) {
		t.Errorf("fast path %+v, strategic merge %+v", got.Spec.Template.Annotations, want.Spec.Template.Annotations)
	}
	if got.ResourceVersion == before.ResourceVersion {
		t.Errorf("a patch must change the resourceVersion")
	}
}

// Two simulations of one seed make the same calls in the same order and find the same things.
func TestSimulationIsDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		a, b := Simulate(seed, Options{Verbose: true}), Simulate(seed, Options{Verbose: true})
		if x, y := a.Trace, b.Trace; !slices.Equal(x, y) {
			for i := range min(len(x), len(y)) {
				if x[i] != y[i] {
					t.Fatalf("seed %d: the traces differ at line %d:\n%s\n%s", seed, i, x[i], y[i])
				}
			}
			t.Fatalf("seed %d: traces of %d and %d lines", seed, len(x), len(y))
		}
		if len(a.Violations) != len(b.Violations) {
			t.Fatalf("seed %d: %d and %d violations", seed, len(a.Violations), len(b.Violations))
		}
	}
}

// The gate of a run: a crash before a call has no effect, one after it has; a lost lock
// cancels the held context; a write that still takes effect after the loss, or in a dry run,
// is a violation.
func TestGate(t *testing.T) {
	w, err := newWorld(1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := w.clusters[0]
	effects := 0
	write := func(r *run, ctx context.Context) error {
		return r.gate(ctx, kubeWrite, "write", func() (bool, error) { effects++; return true, nil })
	}

	r := &run{w: w, id: 100, cluster: c, op: runOp{creds: []string{"main"}}, crashAt: 2}
	_ = write(r, bg)
	if err := write(r, bg); !errors.Is(err, errDead) || effects != 1 {
		t.Fatalf("crash before call 2: %v, %d effects", err, effects)
	}
	if err := write(r, bg); !errors.Is(err, errDead) || effects != 1 {
		t.Fatalf("after the crash: %v, %d effects", err, effects)
	}
	r = &run{w: w, id: 101, cluster: c, op: runOp{creds: []string{"main"}}, crashAt: 1, crashAfter: true}
	if err := write(r, bg); !errors.Is(err, errDead) || effects != 2 {
		t.Fatalf("crash after call 1: %v, %d effects", err, effects)
	}

	r = &run{w: w, id: 102, cluster: c, op: runOp{creds: []string{"main"}}, loseAt: 1}
	held, release, err := r.lock(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := write(r, held); !errors.Is(err, context.Canceled) || effects != 2 {
		t.Fatalf("a write under the lost lock: %v, %d effects", err, effects)
	}
	if len(w.violations) != 0 {
		t.Fatalf("violations %v", w.violations)
	}
	_ = write(r, bg) // a core that ignores the held context
	if len(w.violations) != 1 || w.violations[0].Invariant != "NoWriteAfterLockLost" {
		t.Fatalf("violations %v, want NoWriteAfterLockLost", w.violations)
	}

	r = &run{w: w, id: 103, cluster: c, op: runOp{creds: []string{"main"}, dryRun: true}}
	_ = write(r, bg)
	if len(w.violations) != 2 || w.violations[1].Invariant != "DryRunWritesNothing" {
		t.Fatalf("violations %v, want DryRunWritesNothing", w.violations)
	}
}
