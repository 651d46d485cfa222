package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// DefaultFreshRetryDelay is PullCheckFresh's wait when Checker.FreshRetryDelay is
// zero: long enough for a database replica to catch up with a token created a
// moment ago, and for Harbor's 1.5 s lock of a username after a failed login to
// pass, short enough not to hold a rotation.
const DefaultFreshRetryDelay = 3 * time.Second

// freshRetryDelay returns the wait of PullCheckFresh, or a negative duration for none.
func (c Checker) freshRetryDelay() time.Duration {
	if c.FreshRetryDelay == 0 {
		return DefaultFreshRetryDelay
	}
	return c.FreshRetryDelay
}

// sleep waits d or until ctx ends.
func (c Checker) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PullCheckFresh is PullCheck for a credential issued a moment ago. A registry may
// refuse such a credential once: GitLab can answer /jwt/auth from a replica that
// has not seen the new token yet. So when the first check fails with
// ReasonUnauthorized, PullCheckFresh waits c.FreshRetryDelay (DefaultFreshRetryDelay
// when zero) and checks once more; the second answer is final. Every other
// failure, and success, is returned at once, and a negative FreshRetryDelay means
// no second check.
//
// Only one second check, never a loop: failed /jwt/auth requests count toward
// GitLab's IP ban (self-managed: 30 in 3 minutes), and Harbor locks a username
// for 1.5 s after each failed login. Use PullCheck for a credential that has been
// in use: its refusal needs no second opinion.
//
// Each check has its own deadline (c.Timeout); the wait ends early when ctx ends,
// and then the first refusal is returned. When the second check is refused as
// well, its Detail says that the check was repeated.
func (c Checker) PullCheckFresh(ctx context.Context, image string, auth authn.Authenticator) error {
	err := c.PullCheck(ctx, image, auth)
	var pe *PullError
	if !errors.As(err, &pe) || pe.Reason != ReasonUnauthorized {
		return err
	}
	d := c.freshRetryDelay()
	if d < 0 {
		return err
	}
	if c.sleep(ctx, d) != nil {
		return err
	}
	err = c.PullCheck(ctx, image, auth)
	if errors.As(err, &pe) && pe.Reason == ReasonUnauthorized {
		pe.Detail += fmt.Sprintf(" (refused again %v after the first refusal: checked twice because the credential is new, "+
			"in case the registry had not seen it yet; the refusal is final)", d)
	}
	return err
}
