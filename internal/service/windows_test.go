package service

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// 2026-01-01 (day1, where the fake clock starts) is a Thursday; the window opens on Saturdays
// at 02:00 UTC for 4 hours: 2026-01-03, 2026-01-10.
var saturdays = []config.Window{{Start: "0 2 * * 6", Duration: config.NewDuration(4 * time.Hour)}}

func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

// inSaturdayWindow: inside [Saturday 02:00, 06:00) UTC.
func inSaturdayWindow(t time.Time) bool {
	return t.Weekday() == time.Saturday && t.Hour() >= 2 && t.Hour() < 6
}

// A daily scheduled rotation outside every window waits for the next one and runs when it
// opens; meanwhile drift checks go on, told not to restart, and every run inside the window may
// restart. Windows at the top level apply to a credential without its own; a credential's own
// replace them.
func TestScheduledRotationWaitsForTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		global []config.Window
		own    []config.Window
	}{
		{name: "credential's windows", own: saturdays},
		{name: "top-level windows", global: saturdays},
		{name: "own replace top-level", global: []config.Window{{Start: "0 12 * * *", Duration: config.NewDuration(time.Hour)}}, own: saturdays},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh, long-lived credential: only the schedule rotates it.
			f := &fakeRotator{st: &state.State{Current: &state.Issued{ID: "old", IssuedAt: day1, ExpiresAt: day1.Add(365 * 24 * time.Hour)}}, lifetime: 365 * 24 * time.Hour}
			cfg := &config.Config{Windows: tc.global, Credentials: []config.Credential{{Name: "c", Schedule: "0 12 * * *", Windows: tc.own}}}
			clk, cancel, done := startConfig(t, cfg, f, 10*time.Minute)
			advance(t, clk, at(1, 11, 0, 0))
			cancel()
			<-done
			want := []time.Time{at(1, 3, 2, 0), at(1, 10, 2, 0)}
			forced := f.forced()
			if len(forced) != len(want) || !forced[0].Equal(want[0]) || !forced[1].Equal(want[1]) {
				t.Fatalf("scheduled rotations at %v, want only at the window openings %v (daily firings at 12:00 are outside every window)", forced, want)
			}
			checks := 0
			for _, c := range f.calls {
				if in := inSaturdayWindow(c.at); c.outside == in {
					t.Fatalf("run at %s (inside the window: %v) told RestartsOutsideWindow=%v", c.at, in, c.outside)
				}
				if c.ifDue && !inSaturdayWindow(c.at) {
					checks++
				}
			}
			if checks < 1000 {
				t.Errorf("%d drift checks outside the window in 10 days, want one every 10 minutes: repairs go on outside windows", checks)
			}
		})
	}
}

// A run outside every window that changed something (a repair) deferred its restarts: a check
// runs when the next window opens so they happen then, and only once.
func TestDeferredRestartsRunAtTheNextWindow(t *testing.T) {
	f := &fakeRotator{st: &state.State{Current: &state.Issued{ID: "old", IssuedAt: day1, ExpiresAt: day1.Add(365 * 24 * time.Hour)}},
		lifetime: 365 * 24 * time.Hour, repairs: 1}
	cred := config.Credential{Name: "c", Windows: saturdays}
	// A drift check once a day, so the pass at the window opening is not a routine check.
	clk, cancel, done := start(t, cred, f, 24*time.Hour)
	advance(t, clk, at(1, 3, 23, 0))
	cancel()
	<-done
	var got []time.Time
	for _, c := range f.calls {
		got = append(got, c.at)
	}
	want := []time.Time{day1, at(1, 2, 0, 0), at(1, 3, 0, 0), at(1, 3, 2, 0)}
	if len(got) != len(want) {
		t.Fatalf("runs at %v, want %v: the repair at %s must be followed by a check at the window opening", got, want, day1)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("runs at %v, want %v", got, want)
		}
	}
	if last := f.calls[3]; !last.ifDue || last.outside {
		t.Errorf("the run at the window opening: ifDue %v, told outside %v; want a check that may restart", last.ifDue, last.outside)
	}
	if first := f.calls[0]; !first.outside {
		t.Error("the repair outside the window was allowed to restart")
	}
}

// A credential due by age waits for the next window when that opens in time (before half of
// renewBefore is used up), and is rotated at once, outside every window, when it does not: with
// a log line, an Event on its state Secret and a metric, once.
func TestDueCredentialWaitsForTheWindowOrOverrides(t *testing.T) {
	for _, tc := range []struct {
		name         string
		lifetime     time.Duration
		issued       time.Time
		until        time.Time
		wantIssue    time.Time
		wantOverride bool
	}{
		// 30d at 30%: due on Wednesday 7 January 12:00, 9 days before expiry; the window of
		// Saturday 10 January opens 2.6 days later, within the 4.5 days it may wait.
		{name: "window in time: waits", lifetime: 30 * 24 * time.Hour, issued: at(1, 7, 12, 0).Add(-21 * 24 * time.Hour),
			until: at(1, 10, 23, 0), wantIssue: at(1, 10, 2, 0)},
		// 4d at 30%: due on Saturday 3 January 19:12 (after that day's window), expiring on the
		// 5th; the next window (10 January) opens after expiry: rotated when due.
		{name: "window too late: override", lifetime: 4 * 24 * time.Hour, issued: day1,
			until: at(1, 4, 12, 0), wantIssue: at(1, 3, 19, 12), wantOverride: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRotator{st: &state.State{Current: &state.Issued{ID: "old", IssuedAt: tc.issued, ExpiresAt: tc.issued.Add(tc.lifetime)}}, lifetime: tc.lifetime}
			reg := prometheus.NewRegistry()
			kube := fake.NewClientset()
			logs := &records{n: map[string]int{}}
			cred := config.Credential{Name: "c", Lifetime: config.NewDuration(tc.lifetime), Windows: saturdays}
			clk, cancel, done := start(t, cred, f, 10*time.Minute, func(s *Service) {
				s.WindowMetrics = metrics.NewWindows(reg)
				s.Logger = slog.New(logs)
				s.Events = &events.Recorder{Client: kube, Clock: s.Clock}
			})
			advance(t, clk, tc.until)
			cancel()
			<-done
			issues := f.issues()
			if len(issues) != 1 || !issues[0].Equal(tc.wantIssue) {
				t.Fatalf("credentials issued at %v, want one at %s", issues, tc.wantIssue)
			}
			for _, c := range f.calls {
				if c.issued && c.outside {
					t.Errorf("the renewal at %s was told not to restart; an override must finish before expiry", c.at)
				}
			}
			n := 0
			if tc.wantOverride {
				n = 1
			}
			if got := overridesCounted(t, reg); got != float64(n) {
				t.Errorf("rotator_window_overrides_total = %v, want %d", got, n)
			}
			if got := logs.n["WARN rotating outside every window: the credential cannot wait for the next one"]; got != n {
				t.Errorf("override logged %d times, want %d", got, n)
			}
			evs, err := kube.CoreV1().Events("rotator-system").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var overrides int
			for _, ev := range evs.Items {
				if ev.Reason == ReasonWindowOverride && ev.InvolvedObject.Name == state.SecretName("c") && ev.Type == "Warning" {
					overrides++
					t.Logf("event: %s", ev.Message)
				}
			}
			if overrides != n {
				t.Errorf("%d %s events on the state Secret, want %d (%v)", overrides, ReasonWindowOverride, n, evs.Items)
			}
		})
	}
}

// overridesCounted is the sum of rotator_window_overrides_total in reg.
func overridesCounted(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "rotator_window_overrides_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// An override that fails is retried with back-off, outside the window still, and said once.
func TestOverrideRetriedAndAnnouncedOnce(t *testing.T) {
	f := &fakeRotator{st: &state.State{Current: &state.Issued{ID: "old", IssuedAt: day1, ExpiresAt: day1.Add(4 * 24 * time.Hour)}}, lifetime: 4 * 24 * time.Hour, fail: true}
	reg := prometheus.NewRegistry()
	logs := &records{n: map[string]int{}}
	clk, cancel, done := start(t, config.Credential{Name: "c", Windows: saturdays}, f, 10*time.Minute, func(s *Service) {
		s.WindowMetrics = metrics.NewWindows(reg)
		s.Logger = slog.New(logs)
	})
	advance(t, clk, at(1, 4, 0, 0))
	cancel()
	<-done
	retries := 0
	for _, c := range f.calls {
		if !c.at.Before(at(1, 3, 19, 12)) {
			retries++
		}
	}
	if retries < 5 {
		t.Errorf("%d runs after the override started, want it retried with back-off", retries)
	}
	if got := overridesCounted(t, reg); got != 1 {
		t.Errorf("rotator_window_overrides_total = %v, want 1 for one due credential however often it is retried", got)
	}
}

// A suspended credential gets no scheduled work at all (no rotation, check or renewal), which
// is logged once; the others go on.
func TestSuspendedCredentialGetsNoScheduledWork(t *testing.T) {
	f := &fakeRotator{st: &state.State{}, lifetime: 2 * time.Hour}
	logs := &records{n: map[string]int{}}
	cfg := &config.Config{Credentials: []config.Credential{
		{Name: "off", Schedule: "@hourly", Suspend: true},
		{Name: "on", Schedule: "@daily"},
	}}
	clk, cancel, done := startConfig(t, cfg, f, 10*time.Minute, func(s *Service) { s.Logger = slog.New(logs) })
	advance(t, clk, day1.Add(24*time.Hour))
	cancel()
	<-done
	on := 0
	for _, c := range f.calls {
		if c.credential == "off" {
			t.Fatalf("suspended credential run at %s", c.at)
		}
		on++
	}
	if on < 144 {
		t.Errorf("%d runs of the other credential in a day, want its checks every 10 minutes", on)
	}
	if n := logs.n["INFO credential suspended: no scheduled rotation, renewal, repair or revocation until suspend is removed; rotate now still works"]; n != 1 {
		t.Errorf("suspension logged %d times, want once (%v)", n, logs.n)
	}
}

// With every credential suspended the service sleeps until it is stopped, without spinning.
func TestAllSuspendedStopsCleanly(t *testing.T) {
	f := &fakeRotator{st: &state.State{}}
	cfg := &config.Config{Credentials: []config.Credential{{Name: "off", Suspend: true}}}
	config.Default(cfg)
	clk := &stepClock{FakeClock: clocktesting.NewFakeClock(day1), sleeps: make(chan time.Duration, 1)}
	f.clock = clk
	svc := &Service{Config: cfg, Rotator: f, States: f, Clock: clk, NoJitter: true}
	// Stopped from the start: a loop with nothing to wake for steps every entry (none) without
	// end, never reading ctx, and never returns.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx) }()
	select {
	case err := <-errc:
		if err != nil || len(f.calls) != 0 {
			t.Fatalf("Run = %v after %d runs, want nil after none", err, len(f.calls))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run with every credential suspended did not stop when its context ended: it spins")
	}
}

// status shows the service's answer: a scheduled time outside every window moves to the next
// opening; a suspended credential has no next run.
func TestNextRunFollowsWindowsAndSuspend(t *testing.T) {
	fresh := &state.State{Current: &state.Issued{ID: "x", IssuedAt: day1, ExpiresAt: day1.Add(365 * 24 * time.Hour)}}
	for _, tc := range []struct {
		name string
		cred config.Credential
		want time.Time
	}{
		{name: "no windows", cred: config.Credential{Name: "c", Schedule: "0 12 * * *"}, want: at(1, 1, 12, 0)},
		{name: "outside: the next window", cred: config.Credential{Name: "c", Schedule: "0 12 * * *", Windows: saturdays}, want: at(1, 3, 2, 0)},
		{name: "inside: on time", cred: config.Credential{Name: "c", Schedule: "0 3 * * 6", Windows: saturdays}, want: at(1, 3, 3, 0)},
		{name: "suspended", cred: config.Credential{Name: "c", Schedule: "0 12 * * *", Suspend: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Credentials: []config.Credential{tc.cred}}
			config.Default(cfg)
			if got := NextRun(cfg, &cfg.Credentials[0], fresh, day1); !got.Equal(tc.want) {
				t.Errorf("NextRun = %s, want %s", got, tc.want)
			}
		})
	}
}

// A check outside every window that changed nothing but deferred a restart (a pod stuck
// pulling, under IfNeeded) is queued for the window as well.
func TestDeferredRestartOfAQuietRunIsQueued(t *testing.T) {
	quiet := &rotation.Report{Result: "nothing-due", Workloads: []rotation.WorkloadResult{{Kind: "Deployment", Namespace: "a", Name: "web", Action: "deferred (outside every window)"}}}
	if !deferredRestarts(quiet) {
		t.Error("a deferred restart in a nothing-due report was not seen")
	}
	if deferredRestarts(&rotation.Report{Result: "nothing-due", Workloads: []rotation.WorkloadResult{{Action: "unchanged"}}}) {
		t.Error("an unchanged workload was read as a deferred restart")
	}
}
