package service

import (
	"time"

	"github.com/rotatorhq/rotator/internal/notify"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// Notifier is told what needs a person (notify.Notifier in production); it must not block.
type Notifier interface {
	Notify(notify.Notification)
}

// notifyRun tells the notifier what a run's report holds that needs a person: a failure, a
// rollback, revocations held back by namespaces. A revocation waiting for its grace period is
// no news. failures is the count of failed runs in a row, this one included.
func (s *Service) notifyRun(e *entry, rep *rotation.Report, failures int) {
	if s.Notifier == nil {
		return
	}
	cred := notify.Credential{Name: e.key, Provider: e.cred.Provider, Registry: rep.Registry}
	now := s.Clock.Now()
	if r := rep.RolledBack; r != nil {
		s.Notifier.Notify(notify.RolledBack{Credential: cred, RolledBack: ref(*r), At: now})
	}
	var held []notify.Ref
	for _, h := range rep.Held {
		if len(h.HeldBy) > 0 {
			held = append(held, ref(h))
		}
	}
	if len(held) > 0 {
		s.Notifier.Notify(notify.RevocationHeld{Credential: cred, Held: held, At: now})
	}
	if !rep.OK() {
		s.Notifier.Notify(notify.RotationFailed{Credential: cred, Cause: string(rep.Cause), Errors: rep.Errors, ConsecutiveFailures: failures, FailingSince: e.failingSince, At: now})
	}
}

// notifyExpiry tells the notifier when the current credential has used up more than half of
// its renewBefore margin without being rotated: the RotatorCredentialExpiresUnrotated alert's
// condition (deploy/monitoring/prometheusrule.yaml), (renewAt + expiresAt) / 2.
func (s *Service) notifyExpiry(e *entry, st *state.State, now time.Time) {
	if s.Notifier == nil || st == nil || st.Current == nil || st.Current.ExpiresAt.IsZero() {
		return
	}
	c := st.Current
	renewAt := e.cred.RenewAt(c.IssuedAt, c.ExpiresAt)
	if !now.After(expiryAlarm(renewAt, c.ExpiresAt)) {
		return
	}
	s.Notifier.Notify(notify.ExpiryApproaching{
		Credential: notify.Credential{Name: e.key, Provider: e.cred.Provider, Registry: c.Registry},
		Current:    notify.Ref{ID: c.ID, Name: c.Name, ExpiresAt: c.ExpiresAt},
		RenewAt:    renewAt, At: now,
	})
}

// expiryAlarm is half-way from the renewal time to the expiry.
func expiryAlarm(renewAt, expires time.Time) time.Time {
	return renewAt.Add(expires.Sub(renewAt) / 2)
}

func ref(r rotation.CredentialRef) notify.Ref {
	return notify.Ref{ID: r.ID, Name: r.Name, ExpiresAt: r.ExpiresAt, Reason: r.Reason, HeldBy: r.HeldBy}
}

var _ Notifier = (*notify.Notifier)(nil)
