// Package retry is the loop every provider runs its API calls in: a deadline per attempt,
// exponential back-off, Retry-After, and a log line per retry. What is worth retrying differs
// between providers (which calls are idempotent, what a 429 means for a create, how long a
// Retry-After is worth waiting for), so each passes its own Classify.
package retry

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

// Policy bounds how often and how long a call is repeated.
type Policy struct {
	Attempts  int           // tries in all, the first one included
	BaseDelay time.Duration // first back-off, doubled on each retry
	MaxDelay  time.Duration // cap of the back-off; what a Retry-After beyond it means is Classify's
	// AttemptTimeout bounds one try. Neither go-client (go-openapi/runtime drops its 30s default
	// once a context is passed) nor GitLab's client has a timeout of its own, so without it an
	// API that accepts the connection and never answers would block the rotation forever.
	AttemptTimeout time.Duration
	Sleep          func(ctx context.Context, d time.Duration) error
}

// Default is the policy of both providers: 4 tries, 0.5s, 1s, 2s apart, 30s per try.
func Default() Policy {
	return Policy{Attempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second,
		AttemptTimeout: 30 * time.Second, Sleep: SleepCtx}
}

// Decision is what a Classify says of one failure.
type Decision struct {
	Retry bool
	Delay time.Duration
	// Why explains, when Retry is false although the failure may pass, why it is not retried;
	// it is appended to the error.
	Why string
}

// After retries after d.
func After(d time.Duration) Decision { return Decision{Retry: true, Delay: d} }

// Call is one named API call of a provider.
type Call struct {
	Name   string       // e.g. "create robot", in the log line of each retry
	Log    *slog.Logger // never nil
	System string       // "Harbor", "GitLab": in the log message
	// Unwrap picks the provider's API error out of err (http.Client wraps it in a *url.Error
	// that repeats the method and URL); nil when err holds none.
	Unwrap func(err error) error
	// Classify decides whether the failure of the given attempt (1 for the first) is retried. A
	// refused connection is retried without asking it.
	Classify func(err error, attempt int) Decision
}

// Unwrap is a Call.Unwrap for a provider whose API errors are of type T.
func Unwrap[T error](err error) error {
	var target T
	if errors.As(err, &target) {
		return target
	}
	return nil
}

// Do runs fn with a per-attempt deadline and repeats it while Classify says so. It returns fn's
// last error (the API error alone when there is one), noting why the retries stopped.
func (p Policy) Do(ctx context.Context, c Call, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.AttemptTimeout)
		err := fn(actx)
		cancel()
		if apiErr := c.Unwrap(err); apiErr != nil {
			err = apiErr
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		var d Decision
		if Refused(err) {
			// Never reached the server: safe to repeat for every call, even a create.
			d = After(p.Backoff(attempt))
		} else {
			d = c.Classify(err, attempt)
		}
		if !d.Retry {
			if d.Why != "" {
				return fmt.Errorf("%w (%s)", err, d.Why)
			}
			return err
		}
		if attempt >= p.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		c.Log.LogAttrs(ctx, slog.LevelInfo, "retrying "+c.System+" call",
			slog.String("call", c.Name), slog.Int("attempt", attempt), slog.Duration("delay", d.Delay),
			slog.String("error", err.Error()))
		if serr := p.Sleep(ctx, d.Delay); serr != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", err, serr)
		}
	}
}

// Backoff is the delay before the retry that follows the given attempt.
func (p Policy) Backoff(attempt int) time.Duration {
	return min(p.BaseDelay<<(attempt-1), p.MaxDelay)
}

// Refused: the connection was refused, so the request never reached the server and repeating
// it is safe, even a create.
func Refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// Timeout: the attempt's deadline passed or the network timed out.
func Timeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
}

// ParseRetryAfter reads a Retry-After header: seconds or an HTTP date (relative to now).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		// Clamp before multiplying so a huge value cannot overflow into a negative delay.
		return time.Duration(min(max(secs, 0), 24*60*60)) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// SleepCtx sleeps for d or until ctx ends.
func SleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
