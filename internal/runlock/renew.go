package runlock

import (
	"context"
	"errors"
	"fmt"
)

// keep renews the lock every RetryPeriod until stop is closed, and calls lose when the lock is
// lost: at once when the Lease has another holder (or none, or is gone), and when it could not be
// renewed for RenewDeadline. Another waiting run takes the Lease over only once it has seen it
// unchanged for Duration, so a holder that stops at RenewDeadline has stopped before that.
func (a *acquisition) keep(ctx context.Context, lose context.CancelCauseFunc, stop <-chan struct{}) {
	var lastErr error
	for {
		select {
		case <-stop:
			return
		default:
		}
		deadline := a.renewed.Add(a.RenewDeadline)
		if wait := min(a.RetryPeriod, deadline.Sub(a.Clock.Now())); wait > 0 {
			t := a.Clock.NewTimer(wait)
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C():
			}
		}
		now := a.Clock.Now()
		if !now.Before(deadline) {
			cause := fmt.Errorf("%w: not renewed for %s", ErrLost, a.RenewDeadline)
			if lastErr != nil {
				cause = fmt.Errorf("%w: %w", cause, lastErr)
			}
			lose(cause)
			return
		}
		// A hung API call must not outlast the renew deadline: by then the run has to stop.
		cctx, cancel := context.WithTimeout(ctx, deadline.Sub(now))
		err := a.renew(cctx, now)
		cancel()
		switch {
		case err == nil:
			a.renewed = now
		case errors.Is(err, ErrLost):
			lose(err)
			return
		default:
			lastErr = err
		}
	}
}
