package secretsource

import (
	"context"
	"fmt"
	"time"
)

// Why a 403 does not simply mean "log in again": Vault answers 403 both to a token that is no
// longer valid (revoked, expired) and to a valid token whose policy does not allow the path.
// Logging in again on the second kind never helps, and each login may use up one of an AppRole
// secret-id's uses (secret_id_num_uses) until the rotator cannot log in at all.

// reloginBackoff bounds new logins that follow each other because Vault keeps refusing the fresh
// token: the first is at once, then 10 s, 20 s, 40 s... up to 10 minutes. A login more than
// reloginStreakReset after the previous one starts over.
const (
	reloginFirstBackoff = 10 * time.Second
	reloginMaxBackoff   = 10 * time.Minute
	reloginStreakReset  = 10 * time.Minute
	// tokenCheckTimeout bounds the lookup-self that tells a dead token from a policy denial.
	tokenCheckTimeout = 10 * time.Second
)

// tokenValid asks Vault whether s's token is still valid (auth/token/lookup-self, which Vault's
// default policy allows). It is false only when Vault refuses the token itself; any other
// failure (network, sealed) returns the error, and the caller keeps the original answer.
func (v *Vault) tokenValid(ctx context.Context, s *session) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenCheckTimeout)
	defer cancel()
	_, err := s.client.Auth().Token().LookupSelfWithContext(ctx)
	switch {
	case err == nil:
		return true, nil
	case isForbidden(err):
		return false, nil
	}
	return false, err
}

// reloginAllowedLocked says whether a new login after a refused token may happen at now, and records
// it when it may. The caller holds v.mu.
func (v *Vault) reloginAllowedLocked(now time.Time) (bool, time.Time) {
	if !v.lastRelogin.IsZero() && now.Sub(v.lastRelogin) > reloginStreakReset {
		v.reloginStreak = 0
	}
	if v.reloginStreak > 0 {
		wait := reloginFirstBackoff << min(v.reloginStreak-1, 10)
		wait = min(wait, reloginMaxBackoff)
		if next := v.lastRelogin.Add(wait); now.Before(next) {
			return false, next
		}
	}
	v.reloginStreak++
	v.lastRelogin = now
	return true, time.Time{}
}

// errReloginBackoff is the answer to a request whose token Vault refused while new logins are
// held back.
func (v *Vault) errReloginBackoff(next time.Time) error {
	return &Error{Kind: ErrLogin, Op: "log in", Auth: v.method.mount(),
		Detail: fmt.Sprintf("Vault refused the token again shortly after a new login; the next login is not before %s "+
			"(logins are spaced out: each one may use up one use of an AppRole secret-id)", next.UTC().Format(time.RFC3339)),
		Fix: v.method.loginFix()}
}

// revokeReplaced revokes the token of a session a new login replaced, in the background: a token
// the rotator obtained by logging in is of no use to anyone once replaced, and left alive it is
// one more valid credential until its TTL. A token handed to the rotator (the token method) is
// the operator's and is never revoked.
// The revocation outlives ctx (the request that caused the new login), bounded by its own timeout.
func (v *Vault) revokeReplaced(ctx context.Context, old *session) {
	if _, given := v.method.(*tokenLogin); given || old == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenCheckTimeout)
		defer cancel()
		if err := old.client.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil && !isForbidden(err) {
			// A 403 means the token was dead already (revoked, expired): nothing to do.
			v.log.Warn("could not revoke the replaced Vault token; it lives until its TTL", "method", v.method.name(), "err", err.Error())
			return
		}
		v.log.Debug("revoked the replaced Vault token", "method", v.method.name())
	}()
}
