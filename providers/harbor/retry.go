package harbor

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rotatorhq/rotator/providers/internal/retry"
)

// idempotency says whether a call may be repeated after it may have reached Harbor.
type idempotency bool

const (
	// idempotent calls (GET, DELETE) are retried on 429, 5xx, timeouts and refused connections.
	idempotent idempotency = true
	// notIdempotent calls (POST create) are retried only when the connection was refused: any
	// other failure may hide a robot Harbor did create, and a retry would create a second one.
	notIdempotent idempotency = false
)

// do runs fn in the retry loop (a deadline per attempt, back-off, Retry-After). It returns fn's
// last error (an *APIError when Harbor answered, noting when retries ran out) for explain.
func (p *Provider) do(ctx context.Context, name string, idem idempotency, fn func(ctx context.Context) error) error {
	return p.retry.Do(ctx, retry.Call{
		Name: name, System: "Harbor", Log: p.log, Unwrap: retry.Unwrap[*APIError],
		Classify: func(err error, attempt int) retry.Decision { return p.classify(err, idem, attempt) },
	}, fn)
}

// classify: idempotent calls are retried on 429 and 5xx (after Retry-After, capped at the
// policy's MaxDelay) and timeouts; a refused connection is retried by the loop itself.
//
// A quick 401 is retried once, whatever the call, after Harbor's failed-login lock is over:
// Harbor authenticates before it does anything, so a refused create created nothing.
func (p *Provider) classify(err error, idem idempotency, attempt int) retry.Decision {
	backoff := p.retry.Backoff(attempt)
	if lockedOut(err, attempt) {
		// A little more than the lock: the lock began before Harbor's answer to the other login.
		return retry.After(failedLoginDelay + 100*time.Millisecond)
	}
	if idem != idempotent {
		return retry.Decision{}
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Status != http.StatusTooManyRequests && apiErr.Status < 500 {
			return retry.Decision{}
		}
		if d, ok := retry.ParseRetryAfter(apiErr.retryAfter, p.now()); ok {
			return retry.After(min(d, p.retry.MaxDelay))
		}
		return retry.After(backoff)
	}
	if retry.Timeout(err) {
		return retry.After(backoff)
	}
	return retry.Decision{}
}
