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
// check runs the credential only when the check says so: the first check is a full run, later
// ones ask Liveness, and a dead credential found there gets a run at once.
func TestLivenessReplacesTheDriftRunAfterTheFirst(t *testing.T) {
	f := &fakeRotator{st: &state.State{}, lifetime: 365 * 24 * time.Hour}
	var mu sync.Mutex
	checks := 0
	var runsAtSixth int
	live := func(_ context.Context, _ *config.Credential, _ *state.State) (bool, string, error) {
		mu.Lock()
		defer mu.Unlock()
		checks++
		if checks == 6 {
			f.mu.Lock()
			runsAtSixth = len(f.calls)
			f.mu.Unlock()
			return true, "deleted at the provider", nil // the 6th check, an hour in, finds it dead
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
		t.Errorf("%d runs before the 6th liveness check, want 1 (the first, full check)", runsAtSixth)
	}
	if checks != 6 || len(f.calls) != 2 || !f.calls[1].ifDue {
		t.Fatalf("%d checks, runs %+v: want 6 checks and a second, if-due run after the one that found the credential dead", checks, f.calls)
	}
}
