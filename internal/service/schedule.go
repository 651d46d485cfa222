package service

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/state"
)

// Backoff after failed runs: doubling from BackoffBase up to BackoffCap, so a broken registry is
// not hammered while a transient fault is retried soon.
const (
	BackoffBase = 30 * time.Second
	BackoffCap  = 30 * time.Minute
)

// backoff is the wait after the n-th consecutive failure (n >= 1).
func backoff(n int) time.Duration {
	d := BackoffBase
	for i := 1; i < n && d < BackoffCap; i++ {
		d *= 2
	}
	return min(d, BackoffCap)
}

// Deadlines says when a credential next needs attention, from its state alone: renewal before
// expiry, and the revocation of a retired credential. Zero times mean "never".
func Deadlines(cred *config.Credential, st *state.State) (renewAt, revokeAt time.Time) {
	if st == nil {
		return time.Time{}, time.Time{}
	}
	if c := st.Current; c != nil {
		renewAt = cred.RenewAt(c.IssuedAt, c.ExpiresAt)
	}
	for _, r := range st.Retired {
		if revokeAt.IsZero() || r.RevokeAt.Before(revokeAt) {
			revokeAt = r.RevokeAt
		}
	}
	return renewAt, revokeAt
}

// NextRun is when the service will next act on cred: the earliest of its cron schedule, its
// renewal time and a pending revocation, the first two moved to the next window when they fall
// outside every window (unless the credential could not wait: see gate); zero for a suspended
// credential. status uses it to show people the same answer.
func NextRun(cfg *config.Config, cred *config.Credential, st *state.State, now time.Time) time.Time {
	if cred.Suspend {
		return time.Time{}
	}
	next := time.Time{}
	if cred.Schedule != "" {
		if s, err := cron.ParseStandard(cred.Schedule); err == nil {
			next = s.Next(now)
		}
	}
	renewAt, revokeAt := Deadlines(cred, st)
	ws, err := config.CompileWindows(cfg.WindowsOf(cred))
	if err != nil {
		ws = nil // the service runs at any time then, and says so
	}
	inWindow := func(t time.Time) time.Time {
		if t.IsZero() || ws.Open(t) {
			return t
		}
		return ws.Next(t)
	}
	if !renewAt.IsZero() && st != nil && st.Current != nil && !mustOverride(renewAt, st.Current.ExpiresAt, ws.Next(renewAt)) {
		renewAt = inWindow(renewAt)
	}
	return earliest(inWindow(next), renewAt, revokeAt)
}

// earliest of the non-zero times (zero if all are zero).
func earliest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}
