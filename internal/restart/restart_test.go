package restart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

const (
	ns      = "shop"
	annoKey = "rotator.example/pull-secret-hash"
)

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func countVerb(c *fake.Clientset, verb string) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == verb {
			n++
		}
	}
	return n
}

// driveClock advances fc whenever something waits on it, until stop closes,
// so waits measured in minutes take milliseconds.
func driveClock(fc *testingclock.FakeClock, step time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if fc.HasWaiters() {
			fc.Step(step)
		}
		time.Sleep(time.Millisecond)
	}
}

// restartWithin runs Restart and fails the test if it has not returned within
// a few seconds: the property under test is often "does not hang".
func restartWithin(t *testing.T, r *Restarter, ws []Workload, value string, wait bool) []Result {
	t.Helper()
	done := make(chan []Result, 1)
	go func() { done <- r.Restart(context.Background(), ws, annoKey, value, wait) }()
	select {
	case res := <-done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("Restart did not return")
		return nil
	}
}

func workloads() []Workload {
	return []Workload{
		{Kind: KindDeployment, Namespace: ns, Name: "web"},
		{Kind: KindStatefulSet, Namespace: ns, Name: "db"},
		{Kind: KindDaemonSet, Namespace: ns, Name: "agent"},
	}
}

func newCluster() *fake.Clientset {
	return fake.NewClientset(
		deployment(ns, "web", podSpec("", "regcred")),
		statefulSet(ns, "db", podSpec("")),
		daemonSet(ns, "agent", podSpec("agent")),
	)
}

func TestRestartPatchesOnce(t *testing.T) {
	c := newCluster()
	r := &Restarter{Client: c}

	res := restartWithin(t, r, workloads(), "sha256-aaa", true)
	for _, x := range res {
		if x.Err != nil || !x.Patched {
			t.Errorf("%s: first run: patched=%v err=%v, want patched and no error", x.Workload, x.Patched, x.Err)
		}
	}
	if n := countVerb(c, "patch"); n != 3 {
		t.Fatalf("first run: %d patch actions, want 3", n)
	}
	for _, a := range c.Actions() {
		p, ok := a.(k8stesting.PatchAction)
		if !ok {
			continue
		}
		if p.GetPatchType() != types.StrategicMergePatchType {
			t.Errorf("patch type = %s, want strategic merge", p.GetPatchType())
		}
		want := `{"spec":{"template":{"metadata":{"annotations":{"rotator.example/pull-secret-hash":"sha256-aaa"}}}}}`
		if string(p.GetPatch()) != want {
			t.Errorf("patch body = %s, want %s", p.GetPatch(), want)
		}
	}
	d, err := c.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Annotations[annoKey]; got != "sha256-aaa" {
		t.Errorf("template annotation = %q, want sha256-aaa", got)
	}
	if len(d.Spec.Template.Spec.ImagePullSecrets) != 1 {
		t.Errorf("patch disturbed the rest of the template: %+v", d.Spec.Template.Spec)
	}

	// Same fingerprint: no patch, no rollout.
	c.ClearActions()
	res = restartWithin(t, r, workloads(), "sha256-aaa", true)
	for _, x := range res {
		if x.Err != nil || x.Patched {
			t.Errorf("%s: second run: patched=%v err=%v, want not patched and no error", x.Workload, x.Patched, x.Err)
		}
	}
	if n := countVerb(c, "patch"); n != 0 {
		t.Errorf("second run with the same value: %d patch actions, want 0", n)
	}

	// A new fingerprint rolls again.
	c.ClearActions()
	res = restartWithin(t, r, workloads(), "sha256-bbb", false)
	if n := countVerb(c, "patch"); n != 3 {
		t.Errorf("run with a new value: %d patch actions, want 3", n)
	}
	for _, x := range res {
		if !x.Patched {
			t.Errorf("%s: new value not patched", x.Workload)
		}
	}
}

func TestRestartResultsInOrderAndProgress(t *testing.T) {
	c := newCluster()
	var seen []string
	r := &Restarter{Client: c, Progress: func(res Result) { seen = append(seen, res.Workload.Name) }}
	ws := workloads()
	res := restartWithin(t, r, ws, "v1", false)
	for i := range ws {
		if res[i].Workload.Name != ws[i].Name {
			t.Errorf("result %d is %s, want %s", i, res[i].Workload, ws[i])
		}
	}
	if len(seen) != len(ws) {
		t.Errorf("Progress called %d times, want %d", len(seen), len(ws))
	}
}

func TestRestartRetriesConflict(t *testing.T) {
	c := newCluster()
	conflicts := 1
	c.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New("too many concurrent writers"))
		}
		return false, nil, nil
	})
	res := restartWithin(t, &Restarter{Client: c}, workloads()[:1], "v1", false)
	if res[0].Err != nil || !res[0].Patched {
		t.Fatalf("patched=%v err=%v, want a successful retry", res[0].Patched, res[0].Err)
	}
	if n := countVerb(c, "patch"); n != 2 {
		t.Errorf("%d patch actions, want 2 (conflict, then success)", n)
	}
}

func TestRestartTimeout(t *testing.T) {
	d := deployment(ns, "web", podSpec("", "regcred"))
	d.Status.AvailableReplicas = 1 // one new pod never becomes available
	c := fake.NewClientset(d)
	fc := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	stop := make(chan struct{})
	defer close(stop)
	go driveClock(fc, 10*time.Second, stop)

	r := &Restarter{Client: c, Clock: fc} // default 5m timeout, 1s poll
	res := restartWithin(t, r, workloads()[:1], "v1", true)[0]

	want := "deployment shop/web: rollout not complete after 5m: 1 of 2 updated replicas available"
	if res.Err == nil || res.Err.Error() != want {
		t.Fatalf("err = %v, want %q", res.Err, want)
	}
	if !errors.Is(res.Err, ErrRolloutTimeout) {
		t.Errorf("err does not wrap ErrRolloutTimeout")
	}
	if !res.Patched {
		t.Errorf("Patched = false, want true: the patch went through before the wait")
	}
	if res.Duration < 5*time.Minute {
		t.Errorf("Duration = %v on the fake clock, want at least the timeout", res.Duration)
	}
}

func TestRestartFailsFast(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	tests := []struct {
		name    string
		setup   func(c *fake.Clientset)
		objects []runtime.Object
		check   func(t *testing.T, err error)
		want    []string
	}{
		{
			name:  "workload does not exist",
			check: func(t *testing.T, err error) { isNotFound(t, err) },
			want:  []string{"deployment shop/web", "not found"},
		},
		{
			name:    "deleted while waiting",
			objects: []runtime.Object{notRolled(deployment(ns, "web", podSpec("")))},
			setup: func(c *fake.Clientset) {
				// Delete the object as soon as it has been patched.
				c.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
					obj, err := c.Tracker().Get(deploymentsGVR, ns, "web")
					if err != nil {
						return true, nil, err
					}
					if err := c.Tracker().Delete(deploymentsGVR, ns, "web"); err != nil {
						return true, nil, err
					}
					return true, obj, nil
				})
			},
			check: func(t *testing.T, err error) { isNotFound(t, err) },
			want:  []string{"deployment shop/web", "not found"},
		},
		{
			name:    "patch forbidden",
			objects: []runtime.Object{deployment(ns, "web", podSpec(""))},
			setup: func(c *fake.Clientset) {
				c.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(gr, "web", errors.New(`User "system:serviceaccount:rotator:rotator" cannot patch resource "deployments"`))
				})
			},
			check: func(t *testing.T, err error) {
				if !apierrors.IsForbidden(err) {
					t.Errorf("not recognisable as Forbidden: %v", err)
				}
			},
			want: []string{"deployment shop/web", `verb "patch"`, `"deployments.apps"`, `namespace "shop"`},
		},
		{
			name:    "get forbidden",
			objects: []runtime.Object{deployment(ns, "web", podSpec(""))},
			setup: func(c *fake.Clientset) {
				c.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(gr, "web", errors.New("no"))
				})
			},
			want: []string{`verb "get"`, `"deployments.apps"`},
		},
		{
			name: "progress deadline exceeded",
			objects: []runtime.Object{func() runtime.Object {
				d := notRolled(deployment(ns, "web", podSpec("")))
				d.Status.Conditions = []appsv1.DeploymentCondition{{
					Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded",
					Message: `ReplicaSet "web-5f" has timed out progressing.`,
				}}
				return d
			}()},
			check: func(t *testing.T, err error) { isErr(t, err, ErrProgressDeadline) },
			want:  []string{"deployment shop/web", "ProgressDeadlineExceeded", "timed out progressing"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientset(tt.objects...)
			if tt.setup != nil {
				tt.setup(c)
			}
			// A real clock and an hour's timeout: only failing fast passes.
			r := &Restarter{Client: c, Timeout: time.Hour}
			err := restartWithin(t, r, workloads()[:1], "v1", true)[0].Err
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			t.Log(err)
		})
	}
}

func TestRestartNotRollable(t *testing.T) {
	sts := statefulSet(ns, "db", podSpec(""))
	sts.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
	sts.Status.UpdatedReplicas = 0 // what the controller reports after the patch under OnDelete
	c := fake.NewClientset(sts)
	r := &Restarter{Client: c, Timeout: time.Hour}
	res := restartWithin(t, r, []Workload{{Kind: KindStatefulSet, Namespace: ns, Name: "db"}}, "v1", true)[0]
	isErr(t, res.Err, ErrNotRollable)
	for _, s := range []string{"statefulset shop/db", "OnDelete", "0 of 3 replicas updated"} {
		if !strings.Contains(fmt.Sprint(res.Err), s) {
			t.Errorf("err = %v, want it to contain %q", res.Err, s)
		}
	}
	t.Log(res.Err)
}

func TestRestartContextCancelled(t *testing.T) {
	c := newCluster()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := (&Restarter{Client: c, Concurrency: 1}).Restart(ctx, workloads(), annoKey, "v1", true)
	for _, x := range res {
		if !errors.Is(x.Err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", x.Workload, x.Err)
		}
	}
}

func TestRestartConcurrencyBound(t *testing.T) {
	const limit, total = 3, 8
	var objs []runtime.Object
	var ws []Workload
	for i := range total {
		name := fmt.Sprintf("web-%d", i)
		objs = append(objs, notRolled(deployment(ns, name, podSpec(""))))
		ws = append(ws, Workload{Kind: KindDeployment, Namespace: ns, Name: name})
	}
	c := fake.NewClientset(objs...)

	// A rollout is in flight from its patch until its Result is reported. Until released, no
	// rollout completes, so the first workloads hold their slots; once released, the test's
	// "controller" completes each patched rollout through the tracker (a watch event).
	var (
		mu                sync.Mutex
		patched           []string
		inFlight, maxSeen int
	)
	c.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		patched = append(patched, a.(k8stesting.PatchAction).GetName())
		inFlight++
		maxSeen = max(maxSeen, inFlight)
		mu.Unlock()
		return false, nil, nil
	})
	r := &Restarter{Client: c, Concurrency: limit, Timeout: time.Hour, Progress: func(Result) {
		mu.Lock()
		inFlight--
		mu.Unlock()
	}}
	done := make(chan []Result, 1)
	go func() { done <- r.Restart(context.Background(), ws, annoKey, "v1", true) }()

	countPatched := func() int { mu.Lock(); defer mu.Unlock(); return len(patched) }
	for deadline := time.Now().Add(5 * time.Second); countPatched() < limit; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d workloads started, want %d", countPatched(), limit)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a wrongly admitted extra worker to show up
	if n := countPatched(); n != limit {
		t.Fatalf("%d workloads started while %d were waiting, want %d", n, limit, limit)
	}

	// The fake's patch is a read and a write, not atomic with the test's update: an update can
	// be lost under it, so the "controller" completes every patched rollout until all are done.
	var res []Result
	for deadline := time.Now().Add(10 * time.Second); res == nil; {
		if time.Now().After(deadline) {
			t.Fatal("Restart did not return")
		}
		mu.Lock()
		todo := append([]string(nil), patched...)
		mu.Unlock()
		for _, name := range todo {
			obj, err := c.Tracker().Get(deploymentsGVR, ns, name)
			if err != nil {
				t.Fatal(err)
			}
			d := obj.(*appsv1.Deployment).DeepCopy()
			if d.Status.UpdatedReplicas == 2 {
				continue
			}
			d.Status.UpdatedReplicas = 2
			if err := c.Tracker().Update(deploymentsGVR, d, ns); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case res = <-done:
		case <-time.After(time.Millisecond):
		}
	}
	for _, x := range res {
		if x.Err != nil || !x.Patched {
			t.Errorf("%s: patched=%v err=%v", x.Workload, x.Patched, x.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if maxSeen > limit {
		t.Errorf("%d rollouts in flight at once, want at most %d", maxSeen, limit)
	}
	if len(patched) != total {
		t.Errorf("%d workloads started, want %d", len(patched), total)
	}
	if n := countVerb(c, "get"); n != total {
		t.Errorf("%d GETs, want %d (one per workload before its patch, none while waiting)", n, total)
	}
	if n := countVerb(c, "watch"); n > total {
		t.Errorf("%d watches for %d rollouts in one namespace", n, total)
	}
}

func TestRestartNoClient(t *testing.T) {
	res := (&Restarter{}).Restart(context.Background(), workloads(), annoKey, "v1", true)
	for _, x := range res {
		if x.Err == nil {
			t.Errorf("%s: no error without a client", x.Workload)
		}
	}
}

// notRolled makes a deployment look as if the controller has not replaced
// any pod yet.
func notRolled(d *appsv1.Deployment) *appsv1.Deployment {
	d.Status.UpdatedReplicas = 0
	return d
}

func isNotFound(t *testing.T, err error) {
	t.Helper()
	if !apierrors.IsNotFound(err) {
		t.Errorf("not recognisable as NotFound: %v", err)
	}
}

func isErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("err = %v, want it to wrap %v", err, target)
	}
}

// With TrustSnapshot a workload whose discovered annotations lack the value is patched without a
// GET; one whose snapshot already has it is read (it may have changed since); a conflict re-reads.
func TestRestartTrustSnapshot(t *testing.T) {
	c := newCluster()
	ws := workloads()
	// The snapshot of db says it carries the value already; the live object does not.
	ws[1].Annotations = map[string]string{annoKey: "sha256-aaa"}
	r := &Restarter{Client: c, TrustSnapshot: true}
	for _, x := range restartWithin(t, r, ws, "sha256-aaa", false) {
		if x.Err != nil || !x.Patched {
			t.Errorf("%s: patched=%v err=%v, want patched", x.Workload, x.Patched, x.Err)
		}
	}
	var gets []string
	for _, a := range c.Actions() {
		if a.GetVerb() == "get" {
			gets = append(gets, a.GetResource().Resource)
		}
	}
	if len(gets) != 1 || gets[0] != "statefulsets" {
		t.Errorf("GETs %v, want only the statefulset's (its snapshot claimed the value)", gets)
	}
	if n := countVerb(c, "patch"); n != 3 {
		t.Errorf("%d patches, want 3", n)
	}

	// A conflict on the unread patch: the retry reads the live object, then patches.
	c.ClearActions()
	conflicts := 1
	c.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New("too many concurrent writers"))
		}
		return false, nil, nil
	})
	res := restartWithin(t, r, workloads()[:1], "sha256-bbb", false)
	if res[0].Err != nil || !res[0].Patched {
		t.Fatalf("patched=%v err=%v, want a successful retry", res[0].Patched, res[0].Err)
	}
	if g, p := countVerb(c, "get"), countVerb(c, "patch"); g != 1 || p != 2 {
		t.Errorf("%d GETs and %d patches, want 1 and 2 (patch, conflict, read, patch)", g, p)
	}
}

// Once ctx has ended no workload is patched; each is reported as not started.
func TestRestartStartsNothingAfterCancel(t *testing.T) {
	c := newCluster()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := (&Restarter{Client: c, Concurrency: 2}).Restart(ctx, workloads(), annoKey, "v1", true)
	if len(res) != 3 {
		t.Fatalf("%d results, want one per workload", len(res))
	}
	for _, x := range res {
		if x.Patched || x.Err == nil || !strings.Contains(x.Err.Error(), "not started") {
			t.Errorf("%s: patched=%v err=%v, want not started", x.Workload, x.Patched, x.Err)
		}
	}
	if n := countVerb(c, "patch"); n != 0 {
		t.Fatalf("%d patches after cancel", n)
	}
}
