package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// retryPolicy bounds how often and how long a GitLab call is repeated.
type retryPolicy struct {
	attempts  int           // tries in all, the first one included
	baseDelay time.Duration // first backoff, doubled on each retry
	maxDelay  time.Duration // cap of the backoff; a longer Retry-After is not waited for
	// attemptTimeout bounds one try: the client has no timeout of its own once a context is
	// given, and a GitLab that accepts the connection and never answers would block the run.
	attemptTimeout time.Duration
	sleep          func(ctx context.Context, d time.Duration) error
}

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{
		attempts:       4,
		baseDelay:      500 * time.Millisecond,
		maxDelay:       30 * time.Second,
		attemptTimeout: 30 * time.Second,
		sleep:          sleepCtx,
	}
}

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

// do runs fn with a per-attempt deadline and repeats it while the failure is worth retrying.
// It returns fn's last error (an *APIError when GitLab answered, noting when and why retries
// stopped) for explain to describe.
func (p *Provider) do(ctx context.Context, name string, idem idempotency, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.retry.attemptTimeout)
		err := fn(actx)
		cancel()
		// http.Client wraps statusTransport's *APIError in a *url.Error that repeats the method
		// and the URL; the APIError alone says it all.
		if apiErr := asAPIError(err); apiErr != nil {
			err = apiErr
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		delay, ok, why := p.retryDelay(err, idem, attempt)
		if !ok {
			if why != "" {
				return fmt.Errorf("%w (%s)", err, why)
			}
			return err
		}
		if attempt >= p.retry.attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "retrying GitLab call",
			slog.String("call", name), slog.Int("attempt", attempt), slog.Duration("delay", delay),
			slog.String("error", err.Error()))
		if serr := p.retry.sleep(ctx, delay); serr != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", err, serr)
		}
	}
}

// retryDelay says whether err is worth another attempt and after how long; when it is not
// although the failure is temporary, why says so.
func (p *Provider) retryDelay(err error, idem idempotency, attempt int) (time.Duration, bool, string) {
	backoff := min(p.retry.baseDelay<<(attempt-1), p.retry.maxDelay)
	// A refused connection never reached GitLab: safe to repeat, even a create.
	if errors.Is(err, syscall.ECONNREFUSED) {
		return backoff, true, ""
	}
	apiErr := asAPIError(err)
	if apiErr != nil && apiErr.Status == http.StatusTooManyRequests {
		d, ok := p.parseRetryAfter(apiErr.retryAfter)
		if !ok {
			return backoff, true, ""
		}
		if d > p.retry.maxDelay {
			return 0, false, fmt.Sprintf("GitLab asks to retry after %s, longer than the rotator waits (%s)", d, p.retry.maxDelay)
		}
		return d, true, ""
	}
	if idem != idempotent {
		return 0, false, ""
	}
	if apiErr != nil {
		return backoff, apiErr.Status >= 500, ""
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return backoff, true, ""
	}
	return 0, false, ""
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func (p *Provider) parseRetryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		// Clamp before multiplying so a huge value cannot overflow into a negative delay.
		return time.Duration(min(max(secs, 0), 24*60*60)) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(p.now()), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
