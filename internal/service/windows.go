package service

import (
	"context"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// ReasonWindowOverride is the Event recorded on a credential's state Secret when it is rotated
// outside every window because it would otherwise expire first.
const ReasonWindowOverride = "RotatedOutsideWindow"

// OverrideDeadline is the latest time a due credential may wait for a window: half-way between
// when it became due (renewAt) and when it expires. renewBefore is the time the config gives a
// rotation to succeed before expiry (retries with back-off, a person fixing the registry); a
// window may take at most half of it. Zero: the credential never expires, so it never has to be
// rotated outside a window.
func OverrideDeadline(renewAt, expires time.Time) time.Time {
	if renewAt.IsZero() || expires.IsZero() {
		return time.Time{}
	}
	return expires.Add(-expires.Sub(renewAt) / 2)
}

// mustOverride says whether a credential due since renewAt cannot wait for the window opening
// at next (zero: none ever opens).
func mustOverride(renewAt, expires, next time.Time) bool {
	deadline := OverrideDeadline(renewAt, expires)
	return !deadline.IsZero() && (next.IsZero() || next.After(deadline))
}

// gate applies e's windows to the run step chose (mode nil: none) and returns the run to do
// (nil: none) and when the windows next need the entry to wake (zero: no need). Inside a window
// every run may restart, a scheduled rotation that waited runs, and restarts deferred outside
// run now (a check completes them). Outside every window:
//   - a cron firing waits for the next window (a drift check still runs in its place);
//   - a credential due by age waits too, and so does every other run of it, since the rotation
//     core renews a due credential on any check; unless the next window opens after its
//     OverrideDeadline: then it is rotated now, with restarts, and that is said (override);
//   - drift checks, repairs and revocations run, but restart nothing: the run defers the
//     restarts and the entry is queued for a check when the next window opens.
func (s *Service) gate(ctx context.Context, e *entry, st *state.State, now, renewAt time.Time, mode *rotation.Options) (*rotation.Options, time.Time) {
	if len(e.windows) == 0 {
		return mode, time.Time{}
	}
	if e.windows.Open(now) {
		switch {
		case e.waiting:
			mode = &rotation.Options{} // the scheduled rotation that waited for this window
			e.waiting = false
		case mode == nil && e.queued:
			mode = &rotation.Options{IfDue: true} // completes the restarts deferred outside the window
		}
		if mode != nil {
			e.queued = false
			o := *mode
			o.RestartsOutsideWindow = false
			mode = &o
		}
		return mode, time.Time{}
	}
	next := e.windows.Next(now)
	var expires time.Time
	if st != nil && st.Current != nil {
		expires = st.Current.ExpiresAt
	}
	dueByAge := !renewAt.IsZero() && !now.Before(renewAt)
	if dueByAge && mustOverride(renewAt, expires, next) {
		s.announceOverride(ctx, e, renewAt, expires, next)
		e.waiting = false
		if mode == nil {
			mode = &rotation.Options{IfDue: true}
		}
		o := *mode
		o.RestartsOutsideWindow = false // it must finish before the credential expires
		return &o, time.Time{}
	}
	if mode != nil && !mode.IfDue {
		if !e.waiting {
			s.Logger.Info("scheduled rotation waits for the next window", "credential", e.cred.Name, "next_window", next)
		}
		e.waiting = true
		mode = &rotation.Options{IfDue: true}
	}
	var wake time.Time
	if e.waiting || e.queued || dueByAge {
		wake = next
	}
	if mode == nil {
		return nil, wake
	}
	if dueByAge {
		if e.failures > 0 {
			// A retry waits for the window like the run it retries; the window starts afresh.
			e.failures, e.retryAt = 0, time.Time{}
		}
		s.Logger.Debug("due credential waits for the next window", "credential", e.cred.Name, "next_window", next,
			"deadline", OverrideDeadline(renewAt, expires))
		return nil, next
	}
	o := *mode
	o.RestartsOutsideWindow = true
	return &o, next
}

// announceOverride says, once per due credential, that it is rotated outside every window:
// a log line, an Event on its state Secret and a metric.
func (s *Service) announceOverride(ctx context.Context, e *entry, renewAt, expires, next time.Time) {
	if e.overrideFor.Equal(renewAt) {
		return // said already; this is a retry
	}
	e.overrideFor = renewAt
	nextText := "no window opens again"
	if !next.IsZero() {
		nextText = "the next window opens at " + next.UTC().Format(time.RFC3339)
	}
	deadline := OverrideDeadline(renewAt, expires)
	s.Logger.Warn("rotating outside every window: the credential cannot wait for the next one",
		"credential", e.cred.Name, "next_window", next, "deadline", deadline, "expires", expires)
	s.Events.Warning(ctx, events.Secret(s.Config.StateNamespace, state.SecretName(e.key)), ReasonWindowOverride,
		"credential %s rotated outside every window: %s, later than it may wait (%s: half of its renewal margin before it expires at %s)",
		e.cred.Name, nextText, deadline.UTC().Format(time.RFC3339), expires.UTC().Format(time.RFC3339))
	s.WindowMetrics.Override(e.key)
}

// compileWindows sets e's windows from the config; unreadable ones (Validate refuses them) are
// dropped with an error, as an unreadable schedule is.
func (s *Service) compileWindows(e *entry) {
	ws, err := config.CompileWindows(s.Config.WindowsOf(e.cred))
	if err != nil {
		s.Logger.Error("windows unreadable; rotating at any time", "credential", e.cred.Name, "err", err)
		return
	}
	e.windows = ws
}

// deferredRestarts says whether rep reports a restart deferred (RestartsOutsideWindow), even in a
// run that changed nothing else: a pod stuck pulling may need one while every Secret is fine.
func deferredRestarts(rep *rotation.Report) bool {
	for _, w := range rep.Workloads {
		if strings.Contains(strings.ToLower(w.Action), "defer") {
			return true
		}
	}
	return false
}
