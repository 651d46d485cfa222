package restart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

// watchRig is a fake cluster of n Deployments in ns, not rolled out, whose patch bumps the
// generation to 2 (as the API server does for a template change), whose LISTs answer with the
// resourceVersions in listRVs (then the last one again), and whose watches are fakes the test
// drives, one per WATCH call.
type watchRig struct {
	c       *fake.Clientset
	clock   *testingclock.FakeClock
	mu      sync.Mutex
	watches []*watch.FakeWatcher
	rvs     []string // the resourceVersion each WATCH asked for
	lists   int
	listRVs []string
	patched int
}

func newWatchRig(t *testing.T, n int, listRVs ...string) *watchRig {
	t.Helper()
	var objs []runtime.Object
	for i := range n {
		objs = append(objs, notRolled(deployment(ns, fmt.Sprintf("web-%d", i), podSpec(""))))
	}
	g := &watchRig{c: fake.NewClientset(objs...), clock: testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), listRVs: listRVs}
	g.c.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g.mu.Lock()
		g.patched++
		g.mu.Unlock()
		obj, err := g.c.Tracker().Get(deploymentsGVR, ns, a.(k8stesting.PatchAction).GetName())
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		d.Generation = 2
		return true, d, nil
	})
	g.c.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		rv := "1"
		if len(g.listRVs) > 0 {
			rv = g.listRVs[min(g.lists, len(g.listRVs)-1)]
		}
		g.lists++
		l := &appsv1.DeploymentList{ListMeta: metav1.ListMeta{ResourceVersion: rv}}
		for i := range n {
			d := notRolled(deployment(ns, fmt.Sprintf("web-%d", i), podSpec("")))
			l.Items = append(l.Items, *d) // generation 1: from before the patch
		}
		return true, l, nil
	})
	g.c.PrependWatchReactor("deployments", func(a k8stesting.Action) (bool, watch.Interface, error) {
		fw := watch.NewFake()
		g.mu.Lock()
		defer g.mu.Unlock()
		g.watches = append(g.watches, fw)
		g.rvs = append(g.rvs, a.(k8stesting.WatchAction).GetWatchRestrictions().ResourceVersion)
		return true, fw, nil
	})
	return g
}

// start runs Restart with wait in the background, every workload at once.
func (g *watchRig) start(ctx context.Context, n int) <-chan []Result {
	return g.startWith(ctx, n, n)
}

// startWith runs Restart with wait in the background, concurrency rollouts at a time.
func (g *watchRig) startWith(ctx context.Context, n, concurrency int) <-chan []Result {
	var ws []Workload
	for i := range n {
		ws = append(ws, Workload{Kind: KindDeployment, Namespace: ns, Name: fmt.Sprintf("web-%d", i)})
	}
	r := &Restarter{Client: g.c, Clock: g.clock, Concurrency: concurrency, TrustSnapshot: true}
	done := make(chan []Result, 1)
	go func() { done <- r.Restart(ctx, ws, annoKey, "v1", true) }()
	return done
}

// watchN waits until the n-th WATCH is open and returns it.
func (g *watchRig) watchN(t *testing.T, n int) *watch.FakeWatcher {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		if len(g.watches) >= n {
			fw := g.watches[n-1]
			g.mu.Unlock()
			return fw
		}
		g.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("watch %d never opened (%d open)", n, len(g.watches))
		}
	}
}

// patchedAll waits until n workloads are patched.
func (g *watchRig) patchedAll(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		p := g.patched
		g.mu.Unlock()
		if p >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d patched", p, n)
		}
	}
}

// rolled is web-i at generation gen, observed, complete unless not says otherwise.
func rolled(i int, gen int64, rv string, complete bool) *appsv1.Deployment {
	d := deployment(ns, fmt.Sprintf("web-%d", i), podSpec(""))
	d.Generation, d.Status.ObservedGeneration, d.ResourceVersion = gen, gen, rv
	if !complete {
		d.Status.UpdatedReplicas = 1
	}
	return d
}

func results(t *testing.T, done <-chan []Result) []Result {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(5 * time.Second):
		t.Fatal("Restart did not return")
		return nil
	}
}

func notReturned(t *testing.T, done <-chan []Result, why string) {
	t.Helper()
	select {
	case res := <-done:
		t.Fatalf("Restart returned %v: %s", res, why)
	case <-time.After(20 * time.Millisecond):
	}
}

// Every rollout in flight in a namespace is awaited from one LIST and one WATCH; no workload
// is read while waiting.
func TestWatchAwaitsAllRolloutsFromOneWatch(t *testing.T) {
	const n = 4
	g := newWatchRig(t, n)
	done := g.start(context.Background(), n)
	g.patchedAll(t, n)
	fw := g.watchN(t, 1)

	for i := range n {
		fw.Modify(rolled(i, 2, fmt.Sprint(10+i), true))
	}
	for _, x := range results(t, done) {
		if x.Err != nil || !x.Patched {
			t.Errorf("%s: patched=%v err=%v", x.Workload, x.Patched, x.Err)
		}
	}
	if w, l, gets := countVerb(g.c, "watch"), countVerb(g.c, "list"), countVerb(g.c, "get"); w != 1 || l != 1 || gets != 0 {
		t.Errorf("%d watches, %d lists, %d gets for %d rollouts in one namespace, want 1, 1, 0", w, l, gets, n)
	}
}

// Rollouts of one namespace one after the other (concurrency 1) share one stream: the idle
// stream of the first is reused by the second, one LIST and one WATCH in all.
func TestWatchReusedBySequentialRollouts(t *testing.T) {
	g := newWatchRig(t, 2)
	done := g.startWith(context.Background(), 2, 1)
	g.patchedAll(t, 1)
	fw := g.watchN(t, 1)
	fw.Modify(rolled(0, 2, "5", true))
	g.patchedAll(t, 2)
	fw.Modify(rolled(1, 2, "6", true))
	for _, x := range results(t, done) {
		if x.Err != nil {
			t.Error(x.Err)
		}
	}
	if w, l := countVerb(g.c, "watch"), countVerb(g.c, "list"); w != 1 || l != 1 {
		t.Errorf("%d watches and %d lists for two rollouts in a row in one namespace, want 1 and 1", w, l)
	}
}

// A status of the generation before the patch (a stream opened earlier, or a list served from a
// lagging cache) does not end the wait, however complete it looks.
func TestWatchIgnoresStatusFromBeforeThePatch(t *testing.T) {
	g := newWatchRig(t, 1)
	done := g.start(context.Background(), 1)
	g.patchedAll(t, 1)
	fw := g.watchN(t, 1)
	// The second send returns only once the first is handled: one goroutine reads the watch.
	fw.Modify(rolled(0, 1, "5", true))
	fw.Modify(rolled(0, 2, "6", false))
	notReturned(t, done, "a status of the generation before the patch ended the wait")
	fw.Modify(rolled(0, 2, "7", true))
	if res := results(t, done)[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
}

// A watch the server closes is reopened from the last resourceVersion seen, without a LIST; a
// watch whose version has expired (410 Gone) lists again once and resumes from the new list.
func TestWatchResumesAndRelistsOnGone(t *testing.T) {
	g := newWatchRig(t, 1, "10", "20")
	done := g.start(context.Background(), 1)
	g.patchedAll(t, 1)

	fw := g.watchN(t, 1)
	fw.Modify(rolled(0, 2, "11", false))
	fw.Stop() // the API server ends a watch after a few minutes

	fw = g.watchN(t, 2)
	fw.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version: 11 (15)"})

	fw = g.watchN(t, 3)
	notReturned(t, done, "completed without a complete status")
	fw.Modify(rolled(0, 2, "21", true))
	if res := results(t, done)[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if got := strings.Join(g.rvs, ","); got != "10,11,20" {
		t.Errorf("watches from resourceVersions %s, want 10,11,20 (list, resume, relist after 410)", got)
	}
	if g.lists != 2 {
		t.Errorf("%d lists, want 2 (the first, one after 410 Gone)", g.lists)
	}
}

// A transient watch failure is retried after a pause on the clock; a rollout that never
// completes ends at its own timeout, with what was last seen and the watch's last failure.
func TestWatchTimeoutAndTransientFailure(t *testing.T) {
	g := newWatchRig(t, 1)
	done := g.start(context.Background(), 1)
	g.patchedAll(t, 1)
	fw := g.watchN(t, 1)
	fw.Modify(rolled(0, 2, "5", false))
	fw.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError, Message: "etcd leader changed"})

	// The stream pauses 100ms on the clock, then watches again from "5".
	for deadline := time.Now().Add(5 * time.Second); len(g.snapshotRVs()) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("watch not reopened after a transient error")
		}
		g.clock.Step(50 * time.Millisecond)
	}
	if rvs := g.snapshotRVs(); rvs[1] != "5" {
		t.Errorf("reopened from %q, want 5", rvs[1])
	}
	notReturned(t, done, "a transient error ended the wait")
	g.clock.Step(DefaultTimeout)
	res := results(t, done)[0]
	if !errors.Is(res.Err, ErrRolloutTimeout) {
		t.Fatalf("err = %v, want ErrRolloutTimeout", res.Err)
	}
	for _, s := range []string{"deployment shop/web-0", "after 5m", "1 of 2 replicas updated", "etcd leader changed"} {
		if !strings.Contains(res.Err.Error(), s) {
			t.Errorf("error %q does not say %q", res.Err, s)
		}
	}
}

func (g *watchRig) snapshotRVs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.rvs...)
}

// The wait ends at once when the workload is deleted, when a status is terminal, when the
// watch is forbidden, and when ctx ends.
func TestWatchEndsEarly(t *testing.T) {
	tests := []struct {
		name   string
		act    func(g *watchRig, fw *watch.FakeWatcher, cancel context.CancelFunc)
		forbid bool
		is     func(error) bool
		want   []string
	}{
		{
			name: "deleted", act: func(_ *watchRig, fw *watch.FakeWatcher, _ context.CancelFunc) { fw.Delete(rolled(0, 2, "7", false)) },
			is: apierrors.IsNotFound, want: []string{"deployment shop/web-0", "not found"},
		},
		{
			name: "paused", act: func(_ *watchRig, fw *watch.FakeWatcher, _ context.CancelFunc) {
				d := rolled(0, 2, "7", false)
				d.Spec.Paused = true
				fw.Modify(d)
			},
			is: func(err error) bool { return errors.Is(err, ErrNotRollable) }, want: []string{"deployment shop/web-0", "paused"},
		},
		{
			name: "cancelled", act: func(_ *watchRig, _ *watch.FakeWatcher, cancel context.CancelFunc) { cancel() },
			is: func(err error) bool { return errors.Is(err, context.Canceled) }, want: []string{"deployment shop/web-0", "waiting for rollout"},
		},
		{
			name: "watch forbidden", forbid: true,
			is: apierrors.IsForbidden, want: []string{"deployment shop/web-0", `verb "watch"`, `"deployments.apps"`, `namespace "shop"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newWatchRig(t, 1)
			if tt.forbid {
				g.c.PrependWatchReactor("deployments", func(k8stesting.Action) (bool, watch.Interface, error) {
					return true, nil, apierrors.NewForbidden(appsv1.Resource("deployments"), "", errors.New("no"))
				})
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := g.start(ctx, 1)
			g.patchedAll(t, 1)
			if tt.act != nil {
				tt.act(g, g.watchN(t, 1), cancel)
			}
			err := results(t, done)[0].Err
			if err == nil || !tt.is(err) {
				t.Fatalf("err = %v", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}
