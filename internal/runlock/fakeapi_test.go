package runlock

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

const testNS = "rotator-system"

var leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")

// newAPI is a fake clientset whose Leases have resourceVersions and refuse a stale update with a
// conflict, as the API server does (the plain fake tracker does neither).
func newAPI() *fake.Clientset {
	c := fake.NewClientset()
	var mu sync.Mutex
	version := 0
	c.PrependReactor("create", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		lease := action.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		version++
		lease.ResourceVersion = strconv.Itoa(version)
		if err := c.Tracker().Create(leasesGVR, lease, lease.Namespace); err != nil {
			return true, nil, err
		}
		return true, lease.DeepCopy(), nil
	})
	c.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		lease := action.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		cur, err := c.Tracker().Get(leasesGVR, lease.Namespace, lease.Name)
		if err != nil {
			return true, nil, err
		}
		if cur.(*coordinationv1.Lease).ResourceVersion != lease.ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), lease.Name, errors.New("the object has been modified"))
		}
		version++
		lease.ResourceVersion = strconv.Itoa(version)
		if err := c.Tracker().Update(leasesGVR, lease, lease.Namespace); err != nil {
			return true, nil, err
		}
		return true, lease.DeepCopy(), nil
	})
	return c
}

// honourCtx is c whose Lease calls fail once their ctx ended, as a real client's do (the fake
// clientset ignores ctx).
func honourCtx(c kubernetes.Interface) kubernetes.Interface { return ctxClient{c} }

type ctxClient struct{ kubernetes.Interface }

func (c ctxClient) CoordinationV1() coordinationclient.CoordinationV1Interface {
	return ctxCoordination{c.Interface.CoordinationV1()}
}

type ctxCoordination struct {
	coordinationclient.CoordinationV1Interface
}

func (c ctxCoordination) Leases(ns string) coordinationclient.LeaseInterface {
	return ctxLeases{c.CoordinationV1Interface.Leases(ns)}
}

type ctxLeases struct {
	coordinationclient.LeaseInterface
}

func (l ctxLeases) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Get(ctx, name, o)
}

func (l ctxLeases) Create(ctx context.Context, lease *coordinationv1.Lease, o metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Create(ctx, lease, o)
}

func (l ctxLeases) Update(ctx context.Context, lease *coordinationv1.Lease, o metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Update(ctx, lease, o)
}

// failLeases makes the API server answer verb on Leases with a 500 from now on.
func failLeases(c *fake.Clientset, verb string) {
	c.PrependReactor(verb, "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
}

func getLease(t *testing.T, c *fake.Clientset) *coordinationv1.Lease {
	t.Helper()
	lease, err := c.CoordinationV1().Leases(testNS).Get(context.Background(), DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lease
}

func holder(t *testing.T, c *fake.Clientset) string {
	t.Helper()
	return holderOf(getLease(t, c))
}

// putHolder writes the Lease as another process would: holder, its renew time, 30s.
func putHolder(t *testing.T, c *fake.Clientset, who string, renewed time.Time) {
	t.Helper()
	secs, at := int32(30), metav1.NewMicroTime(renewed)
	leases := c.CoordinationV1().Leases(testNS)
	lease, err := leases.Get(context.Background(), DefaultName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: testNS}}
		lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &who, &at, &secs
		_, err = leases.Create(context.Background(), lease, metav1.CreateOptions{})
	} else if err == nil {
		lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &who, &at, &secs
		_, err = leases.Update(context.Background(), lease, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond in real time: the goroutines under test run on their own.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// step moves clk by d once the one goroutine that uses clk waits on it, and returns when that
// goroutine waits on it again or is done: each step is one whole iteration of its loop.
func step(t *testing.T, clk *clocktesting.FakeClock, d time.Duration, done func() bool) {
	t.Helper()
	waitUntil(t, "a timer on the clock", func() bool { return clk.HasWaiters() || done() })
	if done() {
		return
	}
	clk.Step(d)
	waitUntil(t, "the next timer on the clock", func() bool { return clk.HasWaiters() || done() })
}

func ended(ctx context.Context) func() bool { return func() bool { return ctx.Err() != nil } }

// waiting is an Acquire(ctx, true) running in the background.
type waiting struct {
	done    chan struct{}
	held    context.Context
	release func()
	err     error
}

func acquireInBackground(ctx context.Context, l *Lock) *waiting {
	w := &waiting{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.held, w.release, w.err = l.Acquire(ctx, true)
	}()
	return w
}

func (w *waiting) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}
