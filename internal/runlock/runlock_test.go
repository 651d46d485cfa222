package runlock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

const (
	duration      = 30 * time.Second
	renewDeadline = 20 * time.Second
	retryPeriod   = 2 * time.Second
)

func newLock(c kubernetes.Interface, clk clock.Clock, purpose string) *Lock {
	return &Lock{Client: honourCtx(c), Namespace: testNS, Purpose: purpose, Clock: clk,
		Duration: duration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod}
}

// A leader that lost and won again while its old run winds down runs two acquisitions in one
// process: they exclude each other like two processes.
func TestTwoAcquisitionsOfOneProcessExclude(t *testing.T) {
	c := newAPI()
	clk := clocktesting.NewFakeClock(t0)
	l := newLock(c, clk, "rotator run")
	heldA, releaseA, err := l.Acquire(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	first := holder(t, c)
	host, _ := os.Hostname()
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(host) + `/` + strconv.Itoa(os.Getpid()) + `/[0-9a-f]{8} \(rotator run\)$`).MatchString(first) {
		t.Fatalf("identity %q is not host/pid/random (purpose)", first)
	}
	for _, second := range []*Lock{l, newLock(c, clk, "rotator run")} {
		_, _, err = second.Acquire(context.Background(), false)
		var held *HeldError
		if !errors.As(err, &held) || held.Holder != first {
			t.Fatalf("a second acquisition in the same process: want HeldError naming %q, got %v", first, err)
		}
	}
	releaseA()
	if heldA.Err() == nil {
		t.Fatal("the held context outlived its release")
	}
	heldB, releaseB, err := l.Acquire(context.Background(), false)
	if err != nil {
		t.Fatalf("a released lock not acquired: %v", err)
	}
	if h := holder(t, c); h == first {
		t.Fatalf("two acquisitions share the identity %q", h)
	}
	releaseB()
	if heldB.Err() == nil {
		t.Fatal("the held context outlived its release")
	}
}

// A contender whose clock runs 30s ahead of (or behind) a live holder's never takes the lock: it
// judges the lease by its renewals, never by the RenewTime the holder's clock writes.
func TestClockSkewNeverStealsFromALiveHolder(t *testing.T) {
	for _, skew := range []time.Duration{30 * time.Second, -30 * time.Second} {
		t.Run(fmt.Sprintf("contender %+v", skew), func(t *testing.T) {
			c := newAPI()
			clkA, clkB := clocktesting.NewFakeClock(t0), clocktesting.NewFakeClock(t0.Add(skew))
			heldA, releaseA, err := newLock(c, clkA, "rotator run").Acquire(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			a := holder(t, c)
			b := acquireInBackground(context.Background(), newLock(c, clkB, "rotate now"))
			// Three lease durations. The contender polls first in each period, so it always sees
			// a renewal one period old: with the old expiry (RenewTime + duration against the
			// local clock) a contender 30s ahead took the lock at its first poll.
			for elapsed := retryPeriod; elapsed <= 3*duration; elapsed += retryPeriod {
				step(t, clkB, retryPeriod, b.finished)
				step(t, clkA, retryPeriod, ended(heldA))
				if h := holder(t, c); h != a {
					t.Fatalf("after %s the lease is held by %q, not by the live holder %q", elapsed, h, a)
				}
				if heldA.Err() != nil {
					t.Fatalf("after %s the live holder lost its lock: %v", elapsed, context.Cause(heldA))
				}
			}
			releaseA()
			step(t, clkB, retryPeriod, b.finished)
			waitUntil(t, "the contender to take the released lock", b.finished)
			if b.err != nil {
				t.Fatalf("released lock not taken: %v", b.err)
			}
			b.release()
		})
	}
}

// A holder that died elsewhere (no renewals) is taken over by a waiting run once that run has seen
// the lease unchanged for the lease's duration of its own clock, whatever RenewTime says.
func TestAbandonedLeaseIsTakenAfterItsDurationOfLocalObservation(t *testing.T) {
	for name, renewed := range map[string]time.Time{
		"renewed an hour ago by its clock":   t0.Add(-time.Hour),
		"renewed an hour ahead by its clock": t0.Add(time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			c := newAPI()
			clk := clocktesting.NewFakeClock(t0)
			dead := "other-host/7/0badc0de (rotator run)"
			putHolder(t, c, dead, renewed)
			l := newLock(c, clk, "rotate now")
			// Without waiting, a lease seen for the first time is held: nothing is known yet.
			_, _, err := l.Acquire(context.Background(), false)
			var held *HeldError
			if !errors.As(err, &held) || held.Holder != dead || held.Duration != duration {
				t.Fatalf("want HeldError naming %q for %s, got %v", dead, duration, err)
			}
			b := acquireInBackground(context.Background(), l) // first sees the lease now, at t0
			for elapsed := retryPeriod; elapsed < duration; elapsed += retryPeriod {
				step(t, clk, retryPeriod, b.finished)
				if h := holder(t, c); h != dead {
					t.Fatalf("taken over after only %s of observation (by %q)", elapsed, h)
				}
			}
			step(t, clk, retryPeriod, b.finished)
			waitUntil(t, "the abandoned lease to be taken over", b.finished)
			if b.err != nil {
				t.Fatalf("abandoned lease not taken after %s: %v", duration, b.err)
			}
			defer b.release()
			if h := holder(t, c); !strings.HasSuffix(h, " (rotate now)") {
				t.Fatalf("lease held by %q after the takeover", h)
			}
			if n := getLease(t, c).Spec.LeaseTransitions; n == nil || *n != 1 {
				t.Fatalf("lease transitions %v, want 1", n)
			}
		})
	}
}

// A run that lost the lock learns it from its context: at the first renewal after another holder
// wrote the lease, and when renewals failed for the renew deadline (before anyone can take over).
func TestLosingTheLockCancelsTheHeldContext(t *testing.T) {
	t.Run("another holder overwrote the lease", func(t *testing.T) {
		c := newAPI()
		clk := clocktesting.NewFakeClock(t0)
		held, release, err := newLock(c, clk, "rotator run").Acquire(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		putHolder(t, c, "thief", t0)
		step(t, clk, retryPeriod, ended(held))
		if !errors.Is(context.Cause(held), ErrLost) || !strings.Contains(context.Cause(held).Error(), `"thief"`) {
			t.Fatalf("held context after another holder took the lease: err %v, cause %v", held.Err(), context.Cause(held))
		}
		release()
		if h := holder(t, c); h != "thief" {
			t.Fatalf("the lease was written back after it was lost: holder %q", h)
		}
	})
	for _, verb := range []string{"update", "*"} {
		t.Run("the API server fails "+verb, func(t *testing.T) {
			c := newAPI()
			clk := clocktesting.NewFakeClock(t0)
			held, release, err := newLock(c, clk, "rotator run").Acquire(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			failLeases(c, verb)
			for elapsed := retryPeriod; elapsed < renewDeadline; elapsed += retryPeriod {
				step(t, clk, retryPeriod, ended(held))
				if held.Err() != nil {
					t.Fatalf("lock given up after failures for only %s: %v", elapsed, context.Cause(held))
				}
			}
			step(t, clk, retryPeriod, ended(held))
			if cause := context.Cause(held); !errors.Is(cause, ErrLost) || !strings.Contains(cause.Error(), "etcdserver") {
				t.Fatalf("held context %s after the last renewal: err %v, cause %v", renewDeadline, held.Err(), cause)
			}
		})
	}
}

// Release frees the lease for the next run, but never one that another holder took meanwhile.
func TestReleaseFreesOnlyOurOwnLease(t *testing.T) {
	c := newAPI()
	clk := clocktesting.NewFakeClock(t0)
	l := newLock(c, clk, "rotate now")
	held, release, err := l.Acquire(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if h := holder(t, c); h != "" {
		t.Fatalf("released lease still held by %q", h)
	}
	if errors.Is(context.Cause(held), ErrLost) || held.Err() == nil {
		t.Fatalf("held context after release: err %v, cause %v", held.Err(), context.Cause(held))
	}

	_, release, err = l.Acquire(context.Background(), false)
	if err != nil {
		t.Fatalf("a freed lease not acquired at once: %v", err)
	}
	putHolder(t, c, "other-host/1/12345678 (rotator run)", t0) // before our next renewal notices
	release()
	if h := holder(t, c); h != "other-host/1/12345678 (rotator run)" {
		t.Fatalf("release freed another holder's lease: holder %q", h)
	}
}

// The run may wind down after its context ends (a service's shutdown grace): the lock stays
// renewed until it is released.
func TestHeldContextEndsWithTheCallersButTheLockIsKeptUntilRelease(t *testing.T) {
	c := newAPI()
	clk := clocktesting.NewFakeClock(t0)
	ctx, cancel := context.WithCancel(context.Background())
	held, release, err := newLock(c, clk, "rotator run").Acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cancel()
	if held.Err() == nil {
		t.Fatal("the held context outlived the caller's")
	}
	for range duration / retryPeriod {
		step(t, clk, retryPeriod, func() bool { return false })
		if renewed := getLease(t, c).Spec.RenewTime.Time; !renewed.Equal(clk.Now()) {
			t.Fatalf("after the caller's ctx ended: lease last renewed at %s, now is %s", renewed, clk.Now())
		}
	}
}

// Two runs race for a free lease: the one whose update conflicts sees the winner and is refused.
func TestTheLoserOfARaceForAFreeLeaseSeesTheWinner(t *testing.T) {
	c := newAPI()
	putHolder(t, c, "", t0) // freed by its last holder
	once := sync.Once{}
	c.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		once.Do(func() { // the winner's update lands between our Get and our Update
			won := action.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
			racer := "other-host/1/12345678 (rotator run)"
			won.Spec.HolderIdentity, won.ResourceVersion = &racer, "racer"
			if err := c.Tracker().Update(leasesGVR, won, testNS); err != nil {
				t.Error(err)
			}
		})
		return false, nil, nil
	})
	_, _, err := newLock(c, clocktesting.NewFakeClock(t0), "rotate now").Acquire(context.Background(), false)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != "other-host/1/12345678 (rotator run)" {
		t.Fatalf("want HeldError naming the winner, got %v", err)
	}
}

// A holder on this host whose process is gone (a crashed `rotate now`) does not block the next run.
func TestDeadHolderOnThisHostIsTakenOver(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct {
		holder string
		free   bool
	}{
		{host + "/999999999/0123abcd (rotate now)", true},
		{host + "/999999999 (rotate now)", true}, // written by an earlier version
		{host + "/" + strconv.Itoa(os.Getpid()) + "/0123abcd (rotate now)", false},
		{"other-host/999999999/0123abcd (rotator run)", false},
	} {
		c := newAPI()
		putHolder(t, c, tc.holder, t0)
		_, release, err := newLock(c, clocktesting.NewFakeClock(t0), "rotate now").Acquire(context.Background(), false)
		if tc.free && err != nil {
			t.Errorf("held by %q: a dead holder on this host must not block: %v", tc.holder, err)
		}
		var held *HeldError
		if !tc.free && !errors.As(err, &held) {
			t.Errorf("held by %q: a live holder must block, got %v", tc.holder, err)
		}
		if err == nil {
			release()
		}
	}
}
