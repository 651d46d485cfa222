// Package service is `rotator run`: the long-running loop that rotates each credential on its
// cron schedule and before it expires, repairs drift, revokes on time, and backs off after
// failures. Only the leader runs it (leader.go); each run that changes anything takes the same lock as
// `rotate now` (rotation.Runner.Lock).
package service

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// Rotator runs one credential's rotation (rotation.Runner in production).
type Rotator interface {
	Rotate(ctx context.Context, cred *config.Credential, opts rotation.Options) *rotation.Report
}

// StateReader loads a credential's state (state.Store in production).
type StateReader interface {
	Load(ctx context.Context, credential string) (*state.State, error)
}

// Service schedules rotations.
type Service struct {
	Config  *config.Config
	Rotator Rotator
	States  StateReader
	Clock   clock.WithTicker
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// WindowMetrics count rotations forced outside every window (nil: none); Events record them
	// on the credential's state Secret (nil: none). See windows.go.
	WindowMetrics *metrics.Windows
	Events        *events.Recorder
	// Reconcile is how often each credential is checked for drift (missing or changed secrets,
	// unbound ServiceAccounts) between scheduled rotations. Default 10m.
	Reconcile time.Duration
	// MaxJitter spreads scheduled runs so replicas of many clusters do not hit one registry at the
	// same second. Default 1m; tests use 0 by setting NoJitter.
	MaxJitter time.Duration
	NoJitter  bool
	// ShutdownGrace lets a rotation in hand finish its step after the context ends. Default 20s.
	ShutdownGrace time.Duration
	// Busy, when set, is held around each run of a credential, so that the namespace
	// controller's reconciles of that credential wait for it (controller.CredentialLocks).
	Busy interface {
		Lock(credential string)
		Unlock(credential string)
	}
	// Liveness, when set, takes the place of the periodic drift check (a full run with nothing
	// due, which lists every target namespace, Secret, ServiceAccount and workload), the first
	// one included: the namespace controller repairs drift by watch, so between scheduled runs
	// only the credential itself is checked at the provider (rotation.Runner.NeedsRun), and a
	// run follows when it says one is needed (nothing issued yet, an interrupted run, a dead
	// credential). A new leader so plans no credential that needs nothing.
	Liveness func(ctx context.Context, cred *config.Credential, st *state.State) (needed bool, why string, err error)
	// Cluster is the fleet member whose targets Rotator writes ("" for the rotator's own
	// cluster): each credential's state is read, and its metrics labelled, under
	// "<credential>.<cluster>" (state.Key), and its log lines name the cluster.
	Cluster string
	// Notifier, when set, is told about failed runs, rollbacks, revocations held back and
	// credentials near expiry (notify.go). It queues and returns: no run waits for a webhook.
	Notifier Notifier
}

// entry is the schedule of one credential.
type entry struct {
	cred *config.Credential
	// key is what the credential's state is kept and its metrics labelled under: its name, and
	// in a fleet member's service "<credential>.<cluster>" (state.Key).
	key       string
	cron      cron.Schedule
	nextCron  time.Time
	nextCheck time.Time
	failures  int
	retryAt   time.Time
	retryMode rotation.Options
	// lastForced is when the service last started a run forcing a new credential (limitForced).
	lastForced time.Time
	// failingSince is when the first of the failed runs in a row ended (notifications).
	failingSince time.Time
	// windows of the credential (nil: none, any time will do); waiting: a scheduled rotation
	// waits for the next window; queued: a run outside every window deferred restarts, which a
	// check completes when the next window opens; overrideFor: the renewal time of the last
	// override announced, so a retry does not announce it again (windows.go).
	windows     config.Windows
	waiting     bool
	queued      bool
	overrideFor time.Time
}

// Run loops until ctx ends. It returns nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	s.defaults()
	now := s.Clock.Now()
	var entries []*entry
	for i := range s.Config.Credentials {
		e := &entry{cred: &s.Config.Credentials[i], key: state.Key(s.Config.Credentials[i].Name, s.Cluster), nextCheck: now}
		if e.cred.Suspend {
			s.Logger.Info("credential suspended: no scheduled rotation, renewal, repair or revocation until suspend is removed; rotate now still works",
				"credential", e.cred.Name)
			continue
		}
		s.startSchedule(e, now)
		s.compileWindows(e)
		entries = append(entries, e)
	}
	for {
		wake := time.Time{}
		for _, e := range entries {
			if ctx.Err() != nil {
				return nil
			}
			wake = earliest(wake, s.step(ctx, e))
		}
		if wake.IsZero() { // every credential suspended: nothing to do until the config changes
			<-ctx.Done()
			return nil
		}
		d := wake.Sub(s.Clock.Now())
		s.Logger.Debug("sleeping", "until", wake, "for", d)
		if d <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.Clock.After(d):
		}
	}
}

// step runs e if anything is due and returns when it next needs attention.
func (s *Service) step(ctx context.Context, e *entry) time.Time {
	now := s.Clock.Now()
	st, err := s.States.Load(ctx, e.key)
	if err != nil {
		s.Logger.Error("read state", "credential", e.cred.Name, "err", err)
		st = nil
	} else {
		if st.Current != nil {
			s.Metrics.Expiry(e.key, st.Current.ExpiresAt)
			s.Metrics.RenewAt(e.key, e.cred.RenewAt(st.Current.IssuedAt, st.Current.ExpiresAt))
		}
		if st.LastSuccess != nil {
			s.Metrics.RestoreLastSuccess(e.key, *st.LastSuccess)
		}
	}
	renewAt, revokeAt := Deadlines(e.cred, st)

	var mode *rotation.Options
	switch {
	case e.failures > 0 && now.Before(e.retryAt):
		// Backing off: nothing else may hammer a failing registry meanwhile. A credential that
		// keeps failing is the one whose expiry approaches unrotated.
		s.notifyExpiry(e, st, now)
		return e.retryAt
	case e.failures > 0:
		mode = &e.retryMode
	}
	if e.cron != nil && !now.Before(e.nextCron) {
		mode = &rotation.Options{} // the schedule says: a new credential
		e.nextCron = s.nextFiring(e, now)
	}
	deadline := (!renewAt.IsZero() && !now.Before(renewAt)) || (!revokeAt.IsZero() && !now.Before(revokeAt))
	if mode == nil && (deadline || !now.Before(e.nextCheck)) {
		if deadline || s.Liveness == nil || st == nil {
			mode = &rotation.Options{IfDue: true}
		} else {
			mode = s.checkLiveness(ctx, e, st)
			e.nextCheck = now.Add(s.Reconcile)
		}
	}
	if mode != nil {
		e.nextCheck = now.Add(s.Reconcile)
	}
	mode, windowWake := s.gate(ctx, e, st, now, renewAt, mode)
	if mode != nil {
		opts := s.limitForced(e, st, now, *mode)
		if rep := s.run(ctx, e, opts); opts.RestartsOutsideWindow && (rep.Result != "nothing-due" || deferredRestarts(rep)) {
			e.queued = true
		}
		if st2, err := s.States.Load(ctx, e.key); err == nil {
			renewAt, revokeAt = Deadlines(e.cred, st2)
			st = st2
		}
	}
	// After the run, so that a credential it just renewed is not reported.
	s.notifyExpiry(e, st, s.Clock.Now())
	if e.failures > 0 {
		return e.retryAt
	}
	// A renewal or revocation time already past was just handled; do not spin on it.
	now = s.Clock.Now()
	future := func(t time.Time) time.Time {
		if t.IsZero() || t.After(now) {
			return t
		}
		return time.Time{}
	}
	return earliest(e.nextCron, e.nextCheck, future(renewAt), future(revokeAt), windowWake)
}

func (s *Service) run(ctx context.Context, e *entry, opts rotation.Options) *rotation.Report {
	// The rotation in hand gets ShutdownGrace to finish its step after a SIGTERM; whatever it
	// cannot finish, the state lets the next leader resume.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-s.Clock.After(s.ShutdownGrace):
			cancel()
		case <-runCtx.Done():
		}
	})
	defer stop()
	if s.Busy != nil {
		s.Busy.Lock(e.cred.Name)
	}
	rep := s.Rotator.Rotate(runCtx, e.cred, opts)
	if s.Busy != nil {
		s.Busy.Unlock(e.cred.Name)
	}
	if rep.OK() {
		if e.failures > 0 || rep.Result != "nothing-due" {
			s.Logger.Info("run done", "credential", e.cred.Name, "result", rep.Result, "decision", rep.Decision)
		}
		e.failures, e.retryAt = 0, time.Time{}
		s.Metrics.Failing(e.key, false)
		s.notifyRun(e, rep, 0)
		return rep
	}
	msg := ""
	if len(rep.Errors) > 0 {
		msg = rep.Errors[0]
	}
	s.fail(e, opts, msg)
	s.notifyRun(e, rep, e.failures)
	return rep
}

// checkLiveness asks Liveness whether the credential needs a run; a run with IfDue if so. A check
// that could not list at the provider judges nothing dead, as a run would: no run.
func (s *Service) checkLiveness(ctx context.Context, e *entry, st *state.State) *rotation.Options {
	needed, why, err := s.Liveness(ctx, e.cred, st)
	switch {
	case err != nil:
		s.Metrics.Liveness(e.key, "failed")
		s.Logger.Warn("liveness check failed; nothing judged dead, checking again later", "credential", e.cred.Name, "err", err)
	case needed:
		s.Metrics.Liveness(e.key, "needs-run")
		s.Logger.Info("liveness check: a run is needed", "credential", e.cred.Name, "why", why)
		return &rotation.Options{IfDue: true}
	default:
		s.Metrics.Liveness(e.key, "alive")
		s.Logger.Debug("liveness check: alive", "credential", e.cred.Name)
	}
	return nil
}

func (s *Service) fail(e *entry, opts rotation.Options, msg string) {
	e.failures++
	if e.failures == 1 {
		e.failingSince = s.Clock.Now()
	}
	e.retryMode = opts
	s.Metrics.Failing(e.key, true)
	wait := backoff(e.failures)
	if !s.NoJitter {
		wait += time.Duration(rand.Int64N(int64(wait/10) + 1)) //nolint:gosec // jitter spreads retries; nothing secret depends on it
	}
	e.retryAt = s.Clock.Now().Add(wait)
	s.Logger.Error("run failed; retrying later", "credential", e.cred.Name, "failures", e.failures, "retry_in", wait, "err", msg)
}

func (s *Service) jitter() time.Duration {
	if s.NoJitter || s.MaxJitter <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(s.MaxJitter))) //nolint:gosec // jitter spreads schedules; nothing secret depends on it
}

func (s *Service) defaults() {
	if s.Reconcile == 0 {
		s.Reconcile = 10 * time.Minute
	}
	if s.MaxJitter == 0 {
		s.MaxJitter = time.Minute
	}
	if s.ShutdownGrace == 0 {
		s.ShutdownGrace = 20 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Cluster != "" {
		s.Logger = s.Logger.With("cluster", s.Cluster)
	}
}
