package service

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/state"
)

var day1 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// forced are the calls that asked for a new credential whatever its age.
func (f *fakeRotator) forced() []time.Time {
	var out []time.Time
	for _, c := range f.calls {
		if !c.ifDue {
			out = append(out, c.at)
		}
	}
	return out
}

// issues are the calls that issued a credential.
func (f *fakeRotator) issues() []time.Time {
	var out []time.Time
	for _, c := range f.calls {
		if c.issued {
			out = append(out, c.at)
		}
	}
	return out
}

// closerThan returns the first pair of times less than d apart.
func closerThan(ts []time.Time, d time.Duration) []time.Time {
	for i := 1; i < len(ts); i++ {
		if ts[i].Sub(ts[i-1]) < d {
			return ts[i-1 : i+1]
		}
	}
	return nil
}

// simulate runs the service on cred until until and returns what the fake saw.
func simulate(t *testing.T, cred config.Credential, f *fakeRotator, until time.Time, with ...func(*Service)) {
	t.Helper()
	clk, cancel, done := start(t, cred, f, 10*time.Minute, with...)
	advance(t, clk, until)
	cancel()
	<-done
}

// records counts log records by message.
type records struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[rec.Level.String()+" "+rec.Message]++
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// A schedule that never fires makes cron's Next return the zero time, before every now. The
// service must not read that as "due": in a simulated day no run forces a new credential, the
// drift checks go on every 10 minutes, and the problem is logged once.
func TestNeverFiringScheduleNeverForcesARotation(t *testing.T) {
	for _, jitter := range []bool{false, true} {
		f := &fakeRotator{st: &state.State{}, lifetime: 30 * 24 * time.Hour}
		logs := &records{n: map[string]int{}}
		simulate(t, config.Credential{Name: "c", Schedule: "0 0 30 2 *"}, f, day1.Add(24*time.Hour), func(s *Service) {
			s.Logger = slog.New(logs)
			// With jitter the zero time became a time in year 1: a tight loop, not one run per check.
			s.NoJitter, s.MaxJitter = !jitter, time.Minute
		})
		if got := f.forced(); len(got) != 0 {
			t.Errorf("jitter %v: %d runs forced a new credential, first at %v; want none", jitter, len(got), got[:min(len(got), 3)])
		}
		if got := f.issues(); len(got) != 1 {
			t.Errorf("jitter %v: issued %d credentials, want 1 (the first, none existed)", jitter, len(got))
		}
		if n := len(f.calls); n < 144 || n > 145 {
			t.Errorf("jitter %v: %d runs in a day, want one drift check every 10m (144)", jitter, n)
		}
		if n := logs.n["ERROR schedule never fires; rotating by age only"]; n != 1 {
			t.Errorf("jitter %v: logged %d times at Error that the schedule never fires, want once (%v)", jitter, n, logs.n)
		}
	}
}

// renewBefore >= lifetime makes a credential due the moment it is issued: every drift check (an
// if-due run) would issue another one. It must renew as with the default 30% instead.
func TestRenewBeforeBeyondLifetimeDoesNotRotateAtEveryCheck(t *testing.T) {
	f := &fakeRotator{st: &state.State{}, lifetime: 2 * time.Hour}
	simulate(t, config.Credential{Name: "c", RenewBefore: "3h"}, f, day1.Add(24*time.Hour))
	issues := f.issues()
	if pair := closerThan(issues, time.Hour); pair != nil || len(issues) > 24 {
		t.Fatalf("%d credentials issued in a day, two at %v; want at most hourly (every 1h24m: 70%% of 2h)", len(issues), pair)
	}
	if len(issues) < 17 {
		t.Fatalf("%d credentials issued in a day, want one every 1h24m (17): renewal must still happen", len(issues))
	}
}

// A run forcing a new credential (a cron firing, its retry) comes at most once per
// config.MinRotationInterval, counted from the last forced run and the last credential issued
// by anyone, unless the credential allows frequent rotation.
func TestForcedRotationAtMostHourly(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cred        config.Credential
		st          *state.State
		failForced  bool
		until       time.Time
		wantForced  int
		wantClosest time.Duration // no two forced runs closer than this
	}{
		{name: "every 10 minutes", cred: config.Credential{Name: "c", Schedule: "*/10 * * * *"},
			until: day1.Add(24 * time.Hour), wantForced: 24, wantClosest: time.Hour},
		{name: "every 10 minutes, opted in", cred: config.Credential{Name: "c", Schedule: "*/10 * * * *", AllowFrequentRotation: true},
			until: day1.Add(24 * time.Hour), wantForced: 144, wantClosest: 10 * time.Minute},
		// Issued at 00:00 (by `rotate now`, or another replica), the 00:30 firing is skipped; the
		// next day's is not.
		{name: "firing right after an issue elsewhere", cred: config.Credential{Name: "c", Schedule: "30 0 * * *"},
			st:    &state.State{Current: &state.Issued{ID: "y", IssuedAt: day1, ExpiresAt: day1.Add(365 * 24 * time.Hour)}},
			until: day1.Add(36 * time.Hour), wantForced: 1},
		// A failed scheduled rotation is retried with back-off as a check, not as another new
		// credential every 30 s, 1 m, 2 m...
		{name: "retry of a failed firing", cred: config.Credential{Name: "c", Schedule: "0 3 * * *"}, failForced: true,
			until: day1.Add(24 * time.Hour), wantForced: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.st == nil {
				tc.st = &state.State{}
			}
			f := &fakeRotator{st: tc.st, lifetime: 365 * 24 * time.Hour, failForced: tc.failForced}
			simulate(t, tc.cred, f, tc.until)
			forced := f.forced()
			if len(forced) != tc.wantForced {
				t.Errorf("%d forced runs, want %d: %v", len(forced), tc.wantForced, forced[:min(len(forced), 5)])
			}
			if pair := closerThan(forced, tc.wantClosest); pair != nil {
				t.Errorf("forced runs at %v, closer than %s", pair, tc.wantClosest)
			}
		})
	}
}
