package service

import (
	"context"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// stepClock is a fake clock that tells the test how long the service wants to sleep, so the
// test advances time exactly to the service's next wake-up: days pass in microseconds.
type stepClock struct {
	*clocktesting.FakeClock
	sleeps chan time.Duration
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	ch := c.FakeClock.After(d)
	c.sleeps <- d
	return ch
}

// fakeRotator records calls and plays a provider: a successful non-if-due run or a due
// if-due run issues a credential valid for lifetime.
type fakeRotator struct {
	mu       sync.Mutex
	clock    *stepClock
	st       *state.State
	lifetime time.Duration
	fail     bool
	// failForced fails only the runs that force a new credential.
	failForced bool
	// repairs: the next this many if-due runs that issue nothing report a repair (a Secret
	// rewritten), as a drifted target would.
	repairs int
	calls   []call
}

type call struct {
	at         time.Time
	credential string
	ifDue      bool
	issued     bool
	// outside: the run was told restarts are not allowed (RestartsOutsideWindow).
	outside bool
}

func (f *fakeRotator) Rotate(_ context.Context, cred *config.Credential, o rotation.Options) *rotation.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.calls = append(f.calls, call{at: now, credential: cred.Name, ifDue: o.IfDue, outside: o.RestartsOutsideWindow})
	if f.fail || f.failForced && !o.IfDue {
		return &rotation.Report{Result: "failed", Errors: []string{"registry down"}}
	}
	renewAt := time.Time{}
	if f.st.Current != nil {
		renewAt = cred.RenewAt(f.st.Current.IssuedAt, f.st.Current.ExpiresAt)
	}
	if !o.IfDue || f.st.Current == nil || !now.Before(renewAt) {
		f.st.Current = &state.Issued{ID: "x", IssuedAt: now, ExpiresAt: now.Add(f.lifetime)}
		f.calls[len(f.calls)-1].issued = true
		return &rotation.Report{Result: "succeeded", Issued: &rotation.CredentialRef{ID: "x"}}
	}
	if f.repairs > 0 {
		f.repairs--
		return &rotation.Report{Result: "succeeded", Action: rotation.RepairOnly}
	}
	return &rotation.Report{Result: "nothing-due"}
}

func (f *fakeRotator) Load(context.Context, string) (*state.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *f.st
	if f.st.Current != nil {
		c := *f.st.Current
		cp.Current = &c
	}
	return &cp, nil
}

// start runs a Service on cred from 2026-01-01 00:00 UTC; with sets what a test needs more.
func start(t *testing.T, cred config.Credential, f *fakeRotator, reconcile time.Duration, with ...func(*Service)) (*stepClock, context.CancelFunc, chan struct{}) {
	t.Helper()
	return startConfig(t, &config.Config{Credentials: []config.Credential{cred}}, f, reconcile, with...)
}

// startConfig is start with a whole config.
func startConfig(t *testing.T, cfg *config.Config, f *fakeRotator, reconcile time.Duration, with ...func(*Service)) (*stepClock, context.CancelFunc, chan struct{}) {
	t.Helper()
	clk := &stepClock{FakeClock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), sleeps: make(chan time.Duration, 1)}
	f.clock = clk
	config.Default(cfg)
	svc := &Service{Config: cfg, Rotator: f, States: f, Clock: clk, Reconcile: reconcile, NoJitter: true}
	for _, w := range with {
		w(svc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // a test that fails in the middle must not leave the loop spinning
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	return clk, cancel, done
}

// advance lets the service sleep n times, each time jumping to its requested wake-up.
func advance(t *testing.T, clk *stepClock, until time.Time) {
	t.Helper()
	for {
		select {
		case d := <-clk.sleeps:
			if clk.Now().Add(d).After(until) {
				return
			}
			clk.Step(d)
		case <-time.After(5 * time.Second):
			t.Fatal("the service did not go to sleep")
		}
	}
}

func TestCronScheduleFiresAtItsTimes(t *testing.T) {
	f := &fakeRotator{st: &state.State{}, lifetime: 365 * 24 * time.Hour}
	cred := config.Credential{Name: "c", Schedule: "0 3 * * *"}
	clk, cancel, done := start(t, cred, f, 24*time.Hour)
	advance(t, clk, time.Date(2026, 1, 3, 12, 0, 0, 0, time.UTC))
	cancel()
	<-done
	var scheduled []time.Time
	for _, c := range f.calls {
		if !c.ifDue {
			scheduled = append(scheduled, c.at)
		}
	}
	want := []time.Time{time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 3, 0, 0, 0, time.UTC)}
	if len(scheduled) != len(want) {
		t.Fatalf("scheduled runs at %v, want %v", scheduled, want)
	}
	for i := range want {
		if !scheduled[i].Equal(want[i]) {
			t.Fatalf("scheduled runs at %v, want %v", scheduled, want)
		}
	}
}

// A credential nearing expiry is renewed before it expires even when the schedule is yearly and
// the drift check rare.
func TestRenewBeforeExpiryDespiteYearlySchedule(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lifetime := 10 * 24 * time.Hour
	f := &fakeRotator{st: &state.State{Current: &state.Issued{ID: "old", IssuedAt: t0, ExpiresAt: t0.Add(lifetime)}}, lifetime: lifetime}
	cred := config.Credential{Name: "c", Schedule: "@yearly", RenewBefore: "20%"}
	clk, cancel, done := start(t, cred, f, 30*24*time.Hour)
	advance(t, clk, t0.Add(25*24*time.Hour))
	cancel()
	<-done
	var renewals []time.Time
	for _, c := range f.calls {
		if c.ifDue && c.at.After(t0) {
			renewals = append(renewals, c.at)
		}
	}
	// 10-day credentials renewed at 80% of their life: day 8, 16, 24 — never expired.
	want := []time.Time{t0.Add(8 * 24 * time.Hour), t0.Add(16 * 24 * time.Hour), t0.Add(24 * 24 * time.Hour)}
	if len(renewals) != 3 {
		t.Fatalf("renewals at %v, want %v", renewals, want)
	}
	for i := range want {
		if !renewals[i].Equal(want[i]) {
			t.Fatalf("renewals at %v, want %v", renewals, want)
		}
	}
}

func TestFailuresBackOff(t *testing.T) {
	f := &fakeRotator{st: &state.State{}, lifetime: time.Hour, fail: true}
	clk, cancel, done := start(t, config.Credential{Name: "c"}, f, time.Minute)
	t0 := clk.Now()
	advance(t, clk, t0.Add(3*time.Hour))
	cancel()
	<-done
	var gaps []time.Duration
	for i := 1; i < len(f.calls); i++ {
		gaps = append(gaps, f.calls[i].at.Sub(f.calls[i-1].at))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	if len(gaps) < len(want) {
		t.Fatalf("retries %v, want at least %v", gaps, want)
	}
	for i := range want {
		if gaps[i] != want[i] {
			t.Fatalf("retry gaps %v, want %v (growing, capped; the 1m drift check must not hammer a failing registry)", gaps[:len(want)], want)
		}
	}
}
