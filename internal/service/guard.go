package service

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// The guards below keep the service from rotating in a loop even with a config that Validate
// would refuse (a test's, a library user's, a later bug's): each rotation issues a credential
// and restarts every dependent workload.

// startSchedule sets e's cron schedule from its credential, if it has a usable one.
func (s *Service) startSchedule(e *entry, now time.Time) {
	if e.cred.Schedule == "" {
		return
	}
	sched, err := cron.ParseStandard(e.cred.Schedule)
	if err != nil {
		s.Logger.Error("schedule unreadable; rotating by age only", "credential", e.cred.Name, "schedule", e.cred.Schedule, "err", err)
		return
	}
	e.cron = sched
	e.nextCron = s.nextFiring(e, now)
}

// nextFiring is e's next cron time after t, jittered. A schedule that never fires ("0 0 30 2 *")
// makes cron's Next return the zero time, which is before every now: kept, it would fire at
// every step. It is dropped instead, and said once.
func (s *Service) nextFiring(e *entry, t time.Time) time.Time {
	next := e.cron.Next(t)
	if next.IsZero() {
		s.Logger.Error("schedule never fires; rotating by age only", "credential", e.cred.Name, "schedule", e.cred.Schedule)
		e.cron = nil
		return time.Time{}
	}
	return next.Add(s.jitter())
}

// limitForced turns a run that would force a new credential (a cron firing, or the retry of
// one) into a check when the credential was last forced, or last issued, less than
// config.MinRotationInterval ago, unless the credential allows frequent rotation. The check
// still repairs drift, resumes a pending credential and renews one that is due; only the
// pointless new credential is skipped, and renewal by age still comes before expiry.
func (s *Service) limitForced(e *entry, st *state.State, now time.Time, opts rotation.Options) rotation.Options {
	if opts.IfDue || e.cred.AllowFrequentRotation {
		return opts
	}
	last := e.lastForced
	if st != nil {
		for _, c := range []*state.Issued{st.Current, st.Pending} {
			if c != nil && c.IssuedAt.After(last) {
				last = c.IssuedAt
			}
		}
	}
	if !last.IsZero() && now.Sub(last) < config.MinRotationInterval {
		s.Logger.Warn("new credential skipped: the last one is less than the minimum interval old; checking instead",
			"credential", e.cred.Name, "last", last, "min_interval", config.MinRotationInterval)
		opts.IfDue = true
		return opts
	}
	e.lastForced = now
	return opts
}
