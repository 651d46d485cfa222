package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// recorder is a Reconciler that records what it was asked and answers as told.
type recorder struct {
	mu       sync.Mutex
	views    []rotation.NamespaceView
	unsticks []string
	answer   func(v rotation.NamespaceView) rotation.NamespaceResult
}

func (r *recorder) ReconcileNamespace(_ context.Context, cred *config.Credential, v rotation.NamespaceView) rotation.NamespaceResult {
	r.mu.Lock()
	r.views = append(r.views, v)
	answer := r.answer
	r.mu.Unlock()
	if answer != nil {
		return answer(v)
	}
	return rotation.NamespaceResult{Credential: cred.Name, Namespace: v.Name, Outcome: rotation.NamespaceInSync}
}

func (r *recorder) UnstickNamespace(_ context.Context, _ *config.Credential, ns string) ([]restart.UnstickResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unsticks = append(r.unsticks, ns)
	return nil, nil
}

// seen counts the reconciles of ns so far, and returns the last view.
func (r *recorder) seen(ns string) (int, rotation.NamespaceView) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, last := 0, rotation.NamespaceView{}
	for _, v := range r.views {
		if v.Name == ns {
			n, last = n+1, v
		}
	}
	return n, last
}

func (r *recorder) unstuck(ns string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.unsticks {
		if u == ns {
			n++
		}
	}
	return n
}

type rig struct {
	t    *testing.T
	kube *fake.Clientset
	meta *metafake.FakeMetadataClient
	rec  *recorder
	c    *Controller
}

func namespaceMeta(name string, labels map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, ResourceVersion: "1"}}
}

func stateSecret(t *testing.T, id string) *corev1.Secret {
	t.Helper()
	b, err := json.Marshal(&state.State{Current: &state.Issued{ID: id, Name: "robot-" + id, Username: "u"}})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: state.SecretName("h"), Namespace: "rotator-system",
		Labels: map[string]string{stateLabel: "h"}}, Data: map[string][]byte{"state.json": b, "current-password": []byte("p")}}
}

func start(t *testing.T, objs ...runtime.Object) *rig {
	t.Helper()
	return startWith(t, func(*Controller) {}, objs...)
}

// startWith is start with the controller adjusted by set before it starts.
func startWith(t *testing.T, set func(*Controller), objs ...runtime.Object) *rig {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, kube: fake.NewClientset(objs...), rec: &recorder{},
		meta: metafake.NewSimpleMetadataClient(scheme, namespaceMeta("a", map[string]string{"team": "x"}))}
	cfg := &config.Config{StateNamespace: "rotator-system", Credentials: []config.Credential{{Name: "h",
		Targets: config.Targets{SecretName: "pull", NamespaceSelector: "team=x", ServiceAccounts: []string{"default"}}}}}
	r.c = &Controller{Config: cfg, Kube: r.kube, Metadata: r.meta, Reconciler: r.rec, Workers: 2,
		UnstickAfter: []time.Duration{10 * time.Millisecond}, BusyRetry: 10 * time.Millisecond}
	set(r.c)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.c.WaitForSync(ctx) {
		t.Fatal("caches did not sync")
	}
	go r.c.Run(ctx)
	return r
}

// eventually waits for cond, failing with what after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out: %s", what)
}

func TestEventsReconcileTheirNamespaceFromTheCaches(t *testing.T) {
	r := start(t, stateSecret(t, "1"))
	ctx := context.Background()
	eventually(t, "the existing namespace reconciled once the caches synced", func() bool { n, _ := r.rec.seen("a"); return n > 0 })

	// A namespace created with the selector's labels: reconciled with its labels.
	if _, err := r.meta.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).(metafake.MetadataClient).CreateFake(namespaceMeta("b", map[string]string{"team": "x"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "new namespace b reconciled", func() bool { _, v := r.rec.seen("b"); return v.Exists && v.Labels["team"] == "x" })

	// The managed Secret and a configured ServiceAccount appear in the view once created.
	n0, _ := r.rec.seen("b")
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "b"}}
	if _, err := r.kube.CoreV1().Secrets("b").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "secret event reconciles b with the Secret", func() bool { n, v := r.rec.seen("b"); return n > n0 && v.Secret != nil })
	n1, _ := r.rec.seen("b")
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "b"}}
	if _, err := r.kube.CoreV1().ServiceAccounts("b").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "serviceaccount event reconciles b with it", func() bool {
		n, v := r.rec.seen("b")
		return n > n1 && v.ServiceAccounts["default"] != nil
	})
	_, v := r.rec.seen("b")
	if v.State == nil || v.State.Current == nil || v.State.Current.ID != "1" || v.State.Current.Password != "p" {
		t.Fatalf("view's state %+v, want current 1 read from the cached state Secret", v.State)
	}

	// A Secret deleted: reconciled without it.
	n2, _ := r.rec.seen("b")
	if err := r.kube.CoreV1().Secrets("b").Delete(ctx, "pull", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delete reconciles b without the Secret", func() bool { n, v := r.rec.seen("b"); return n > n2 && v.Secret == nil })

	// A new current credential: every namespace is reconciled again.
	na, _ := r.rec.seen("a")
	if _, err := r.kube.CoreV1().Secrets("rotator-system").Update(ctx, stateSecret(t, "2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "promotion reconciles a", func() bool {
		n, v := r.rec.seen("a")
		return n > na && v.State != nil && v.State.Current != nil && v.State.Current.ID == "2"
	})
}

func TestBusyCredentialWaitsForItsRun(t *testing.T) {
	r := start(t, stateSecret(t, "1"))
	eventually(t, "first reconcile", func() bool { n, _ := r.rec.seen("a"); return n > 0 })
	r.c.Locks.Lock("h") // a run of h in this process
	n0, _ := r.rec.seen("a")
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "a"}}
	if _, err := r.kube.CoreV1().Secrets("a").Create(context.Background(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n, _ := r.rec.seen("a"); n != n0 {
		t.Fatalf("reconciled %d times while the credential's run held its lock", n-n0)
	}
	r.c.Locks.Unlock("h")
	eventually(t, "reconciled once the run ended", func() bool { n, _ := r.rec.seen("a"); return n > n0 })
}

// While a run holds the credential, its namespaces wait parked, not on the queue's timer: a
// state change queues every target namespace, and each key put back every BusyRetry would keep
// them all in the queue for as long as the run lasts.
func TestBusyCredentialParksItsKeysOffTheQueue(t *testing.T) {
	r := start(t, stateSecret(t, "1"))
	eventually(t, "first reconcile", func() bool { n, _ := r.rec.seen("a"); return n > 0 })
	r.c.Locks.Lock("h")
	n0, _ := r.rec.seen("a")
	nsClient := r.meta.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).(metafake.MetadataClient)
	for i := range 20 {
		if _, err := nsClient.CreateFake(namespaceMeta(fmt.Sprintf("n%d", i), map[string]string{"team": "x"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	parked := func() int {
		r.c.parkMu.Lock()
		defer r.c.parkMu.Unlock()
		return len(r.c.parked["h"])
	}
	eventually(t, "the new namespaces parked", func() bool { return parked() == 20 })
	time.Sleep(50 * time.Millisecond) // 5 x BusyRetry
	if l := r.c.queue.Len(); l != 0 {
		t.Fatalf("%d keys on the queue while the run holds the credential, want 0 (parked)", l)
	}
	if parked() != 20 {
		t.Fatalf("%d parked, want 20", parked())
	}
	r.c.Locks.Unlock("h")
	eventually(t, "every parked namespace reconciled once the run ended", func() bool {
		for i := range 20 {
			if n, _ := r.rec.seen(fmt.Sprintf("n%d", i)); n == 0 {
				return false
			}
		}
		return parked() == 0
	})
	if n, _ := r.rec.seen("a"); n != n0 {
		t.Fatalf("namespace a reconciled %d more times, want none (nothing changed there)", n-n0)
	}
}

func TestFailuresRetryUnlessPermanentAndRepairsUnstick(t *testing.T) {
	r := start(t, stateSecret(t, "1"))
	r.rec.mu.Lock()
	r.rec.answer = func(v rotation.NamespaceView) rotation.NamespaceResult {
		switch v.Name {
		case "transient":
			return rotation.NamespaceResult{Outcome: rotation.NamespaceFailed, Err: errors.New("503")}
		case "permanent":
			return rotation.NamespaceResult{Outcome: rotation.NamespaceFailed, Err: errors.New("not ours"), Permanent: true}
		case "repaired":
			return rotation.NamespaceResult{Outcome: rotation.NamespaceRepaired}
		}
		return rotation.NamespaceResult{Outcome: rotation.NamespaceInSync}
	}
	r.rec.mu.Unlock()
	nsClient := r.meta.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).(metafake.MetadataClient)
	for _, name := range []string{"transient", "permanent", "repaired"} {
		if _, err := nsClient.CreateFake(namespaceMeta(name, map[string]string{"team": "x"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a transient failure is retried", func() bool { n, _ := r.rec.seen("transient"); return n >= 3 })
	eventually(t, "a repair unsticks pods at once and again after UnstickAfter", func() bool { return r.rec.unstuck("repaired") == 2 })
	time.Sleep(200 * time.Millisecond)
	if n, _ := r.rec.seen("permanent"); n != 1 {
		t.Errorf("a permanent failure was reconciled %d times, want 1 (until its objects change)", n)
	}
	if n := r.rec.unstuck("repaired"); n != 2 {
		t.Errorf("unstick ran %d times after one repair, want 2 (now, and the one follow-up)", n)
	}
	if n := r.rec.unstuck("a"); n != 0 {
		t.Errorf("unstick ran %d times in a namespace in sync, want 0", n)
	}
}

// Reconciles of one credential run side by side (only a run of the credential excludes them):
// 50 namespaces created at once must not be served one at a time.
func TestReconcilesOfOneCredentialRunConcurrently(t *testing.T) {
	r := start(t, stateSecret(t, "1"))
	both := make(chan struct{})
	var mu sync.Mutex
	inFlight := 0
	r.rec.mu.Lock()
	r.rec.answer = func(v rotation.NamespaceView) rotation.NamespaceResult {
		if v.Name == "p1" || v.Name == "p2" {
			mu.Lock()
			inFlight++
			if inFlight == 2 {
				close(both)
			}
			mu.Unlock()
			select {
			case <-both:
			case <-time.After(20 * time.Second):
				return rotation.NamespaceResult{Outcome: rotation.NamespaceFailed, Err: errors.New("alone: reconciles were serialised"), Permanent: true}
			}
		}
		return rotation.NamespaceResult{Outcome: rotation.NamespaceInSync}
	}
	r.rec.mu.Unlock()
	nsClient := r.meta.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).(metafake.MetadataClient)
	for _, name := range []string{"p1", "p2"} {
		if _, err := nsClient.CreateFake(namespaceMeta(name, map[string]string{"team": "x"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-both:
	case <-time.After(5 * time.Second):
		t.Fatal("two namespaces of one credential were never reconciled at the same time")
	}
}

// A tenant who deletes or edits the managed Secret of their namespace in a loop gets it back at
// most RepairLimit times per RepairWindow: later events wait for the window, so the loop cannot
// spend the work every other namespace shares. Once the window has passed, repairs resume.
func TestRepairsOfOneNamespaceAreBudgeted(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := startWith(t, func(c *Controller) { c.RepairLimit, c.RepairWindow, c.Now = 3, time.Hour, clock }, stateSecret(t, "1"))
	r.rec.mu.Lock()
	r.rec.answer = func(v rotation.NamespaceView) rotation.NamespaceResult {
		if v.Name == "loop" {
			return rotation.NamespaceResult{Outcome: rotation.NamespaceRepaired}
		}
		return rotation.NamespaceResult{Outcome: rotation.NamespaceInSync}
	}
	r.rec.mu.Unlock()
	nsClient := r.meta.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).(metafake.MetadataClient)
	if _, err := nsClient.CreateFake(namespaceMeta("loop", map[string]string{"team": "x"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secrets := r.kube.CoreV1().Secrets("loop")
	edit := func(i int) {
		t.Helper()
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "loop"}, Data: map[string][]byte{"x": []byte(fmt.Sprint(i))}}
		if _, err := secrets.Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
			if _, err := secrets.Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 2 { // with the namespace's own event: three repairs
		edit(i)
		eventually(t, "the edit is repaired", func() bool { n, _ := r.rec.seen("loop"); return n >= i+2 })
	}
	for i := range 5 {
		edit(10 + i)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n, _ := r.rec.seen("loop"); n != 3 {
		t.Fatalf("%d reconciles of a namespace repaired 3 times within the window, want 3 (the rest put off)", n)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	edit(99)
	eventually(t, "repairs resume once the window has passed", func() bool { n, _ := r.rec.seen("loop"); return n == 4 })
}
