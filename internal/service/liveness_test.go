package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/state"
)

// With a Liveness check (the namespace controller repairs drift by watch), the periodic drift
// check runs the credential only when the check says so, the first one included: a credential
// never issued gets its run at once, one in order gets none, a dead one found later gets a run.
func TestLivenessReplacesTheDriftRun(t *testing.T) {
	f := &fakeRotator{st: &state.State{}, lifetime: 365 * 24 * time.Hour}
	var mu sync.Mutex
	checks := 0
	var runsAtSixth int
	live := func(_ context.Context, _ *config.Credential, st *state.State) (bool, string, error) {
		mu.Lock()
		defer mu.Unlock()
		checks++
		if st.Current == nil {
			return true, "no current credential", nil
		}
		if checks == 7 {
			f.mu.Lock()
			runsAtSixth = len(f.calls)
			f.mu.Unlock()
			return true, "deleted at the provider", nil // the 7th check, an hour in, finds it dead
		}
		return false, "", nil
	}
	clk, cancel, done := start(t, config.Credential{Name: "c"}, f, 10*time.Minute, func(s *Service) { s.Liveness = live })
	advance(t, clk, clk.Now().Add(time.Hour+time.Minute))
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if runsAtSixth != 1 {
		t.Errorf("%d runs before the check an hour in, want 1 (the first check found nothing issued)", runsAtSixth)
	}
	if checks != 7 || len(f.calls) != 2 || !f.calls[1].ifDue {
		t.Fatalf("%d checks, runs %+v: want 7 checks (at start, then 6 in the hour) and a second, if-due run after the one that found the credential dead", checks, f.calls)
	}
}

// rotator_last_success_timestamp_seconds survives a restart: the service sets it from the state
// at its first step, before any run of its own.
func TestLastSuccessRestoredFromState(t *testing.T) {
	at := time.Date(2025, 12, 24, 3, 0, 0, 0, time.UTC)
	f := &fakeRotator{st: &state.State{Current: &state.Issued{ID: "x", IssuedAt: at, ExpiresAt: at.AddDate(1, 0, 0)}, LastSuccess: &at}, lifetime: time.Hour}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	live := func(context.Context, *config.Credential, *state.State) (bool, string, error) { return false, "", nil }
	clk, cancel, done := start(t, config.Credential{Name: "c"}, f, 10*time.Minute, func(s *Service) { s.Metrics, s.Liveness = m, live })
	advance(t, clk, clk.Now().Add(time.Minute))
	cancel()
	<-done
	want := fmt.Sprintf("rotator_last_success_timestamp_seconds{credential=\"c\"} %d", at.Unix())
	var b strings.Builder
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, mt := range mf.Metric {
			if mf.GetName() == "rotator_last_success_timestamp_seconds" {
				fmt.Fprintf(&b, "%s{credential=%q} %d", mf.GetName(), mt.Label[0].GetValue(), int64(mt.Gauge.GetValue()))
			}
		}
	}
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	if len(f.calls) != 0 {
		t.Fatalf("runs %v: the credential is in order, none was due", f.calls)
	}
}
