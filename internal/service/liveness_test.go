package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
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
