package service

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/notify"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

const knownPassword = "Known-Robot-Pa55word-0123" //nolint:gosec // a test value, asserted absent

// captured records what the service notifies.
type captured struct {
	mu  sync.Mutex
	got []notify.Notification
}

func (c *captured) Notify(n notify.Notification) {
	c.mu.Lock()
	c.got = append(c.got, n)
	c.mu.Unlock()
}

func (c *captured) kinds() map[notify.Kind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[notify.Kind]int{}
	for _, n := range c.got {
		out[n.Kind()]++
	}
	return out
}

// reporting is a Rotator that returns rep and a state whose current credential, holding a
// known password, has used up most of its renewal margin.
type reporting struct {
	rep *rotation.Report
	st  *state.State
}

func (r *reporting) Rotate(context.Context, *config.Credential, rotation.Options) *rotation.Report {
	cp := *r.rep
	return &cp
}

func (r *reporting) Load(context.Context, string) (*state.State, error) { return r.st, nil }

// What a run's report and the state tell is notified: a failure (with its count), a rollback,
// a revocation held by namespaces (a grace period is no news), an expiry approaching; and no
// notification, in either format, carries the password the state holds.
func TestServiceNotifies(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		rep     rotation.Report
		expires time.Time
		want    map[notify.Kind]int
	}{
		{"failure, rollback, held", rotation.Report{
			Result: rotation.Failed, Cause: rotation.Transient, Errors: []string{"verify: registry refused the credential"},
			RolledBack: &rotation.CredentialRef{ID: "9", Name: "robot$new", Reason: "cannot pull"},
			Held: []rotation.CredentialRef{
				{ID: "7", Name: "robot$old", Reason: "held by namespace(s) a", HeldBy: []string{"a"}},
				{ID: "6", Name: "robot$older", Reason: "grace period until later"},
			},
		}, t0.Add(20 * 24 * time.Hour), map[notify.Kind]int{notify.KindRotationFailed: 1, notify.KindRolledBack: 1, notify.KindRevocationHeld: 1}},
		{"only a grace period", rotation.Report{
			Result: rotation.NothingDue, Held: []rotation.CredentialRef{{ID: "6", Name: "robot$older", Reason: "grace period until later"}},
		}, t0.Add(20 * 24 * time.Hour), map[notify.Kind]int{}},
		{"expiry approaching", rotation.Report{Result: rotation.Failed, Errors: []string{"issue: 503"}},
			// lifetime 30d, renewBefore 30%: due 9 days before expiry, alarm at 4.5 days.
			t0.Add(4 * 24 * time.Hour), map[notify.Kind]int{notify.KindRotationFailed: 1, notify.KindExpiryApproaching: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &state.State{Current: &state.Issued{ID: "7", Name: "robot$old", Username: "robot$old", Password: knownPassword,
				IssuedAt: tc.expires.Add(-30 * 24 * time.Hour), ExpiresAt: tc.expires}}
			r := &reporting{rep: &tc.rep, st: st}
			got := &captured{}
			clk := &stepClock{FakeClock: clocktesting.NewFakeClock(t0), sleeps: make(chan time.Duration, 1)}
			cfg := &config.Config{Credentials: []config.Credential{{Name: "c", Provider: "harbor"}}}
			config.Default(cfg)
			svc := &Service{Config: cfg, Rotator: r, States: r, Clock: clk, Reconcile: time.Hour, NoJitter: true, Notifier: got}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = svc.Run(ctx) }()
			<-clk.sleeps // the first step is done
			cancel()
			<-done
			kinds := got.kinds()
			if len(kinds) != len(tc.want) {
				t.Fatalf("notified %v, want %v", kinds, tc.want)
			}
			for k, n := range tc.want {
				if kinds[k] != n {
					t.Fatalf("notified %v, want %v", kinds, tc.want)
				}
			}
			for _, n := range got.got {
				if f, ok := n.(notify.RotationFailed); ok && (f.ConsecutiveFailures != 1 || !f.FailingSince.Equal(t0)) {
					t.Errorf("consecutive failures %d since %v, want 1 since %v", f.ConsecutiveFailures, f.FailingSince, t0)
				}
				for _, format := range []string{notify.FormatJSON, notify.FormatSlack} {
					b, err := notify.Render(n, format)
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(string(b), knownPassword) {
						t.Fatalf("%s payload holds the password: %s", format, b)
					}
					if n.About().Name != "c" || !strings.Contains(string(b), `"c"`) && format == notify.FormatJSON {
						t.Fatalf("payload does not name the credential: %s", b)
					}
				}
			}
		})
	}
}
