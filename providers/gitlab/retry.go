package gitlab

import (
	"context"
	"fmt"
	"net/http"

	"github.com/rotatorhq/rotator/providers/internal/retry"
)

// idempotency says whether a call may be repeated after it may have reached GitLab.
type idempotency bool

const (
	// idempotent calls (GET, DELETE) are retried on 429, 5xx, timeouts and refused connections.
	idempotent idempotency = true
	// notIdempotent calls (POST create) are retried only when GitLab surely did not act on
	// them: a refused connection, or a 429 (the rate limiter answers before the request reaches
	// the API). Any other failure may hide a token GitLab did create, and a retry would make a
	// second one.
	notIdempotent idempotency = false
)

// do runs fn in the retry loop (a deadline per attempt, back-off, Retry-After). It returns fn's
// last error (an *APIError when GitLab answered, noting when and why retries stopped) for
// explain.
func (p *Provider) do(ctx context.Context, name string, idem idempotency, fn func(ctx context.Context) error) error {
	return p.retry.Do(ctx, retry.Call{
		Name: name, System: "GitLab", Log: p.log, Unwrap: retry.Unwrap[*APIError],
		Classify: func(err error, attempt int) retry.Decision { return p.classify(err, idem, attempt) },
	}, fn)
}

// classify: a 429 is retried for every call (a Retry-After longer than the policy's MaxDelay is
// not waited for, and the error says so); idempotent calls are also retried on 5xx and
// timeouts. A refused connection is retried by the loop itself.
func (p *Provider) classify(err error, idem idempotency, attempt int) retry.Decision {
	backoff := p.retry.Backoff(attempt)
	apiErr := asAPIError(err)
	if apiErr != nil && apiErr.Status == http.StatusTooManyRequests {
		d, ok := retry.ParseRetryAfter(apiErr.retryAfter, p.now())
		if !ok {
			return retry.After(backoff)
		}
		if d > p.retry.MaxDelay {
			return retry.Decision{Why: fmt.Sprintf("GitLab asks to retry after %s, longer than the rotator waits (%s)", d, p.retry.MaxDelay)}
		}
		return retry.After(d)
	}
	if idem != idempotent {
		return retry.Decision{}
	}
	if apiErr != nil {
		return retry.Decision{Retry: apiErr.Status >= 500, Delay: backoff}
	}
	if retry.Timeout(err) {
		return retry.After(backoff)
	}
	return retry.Decision{}
}
