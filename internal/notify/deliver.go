package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// errPermanent marks an answer that a retry would not change (4xx other than 429).
var errPermanent = errors.New("refused by the receiver")

// post sends body once. Its error never holds the URL's path or query: a Slack webhook URL is
// its own secret, and net/http's errors quote the whole URL.
func post(ctx context.Context, client *http.Client, rawURL string, body []byte, timeout time.Duration) (retryAfter time.Duration, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, fmt.Errorf("the webhook URL read from urlFrom is not an http(s) URL: %w", errPermanent)
	}
	where := u.Scheme + "://" + u.Host + "/…"
	// Each attempt has its own deadline, so one hung receiver cannot hold the queue.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", where, errPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rotator-notify")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drops the URL the error quotes
		}
		return 0, fmt.Errorf("POST %s: %w", where, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	switch {
	case resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("POST %s: %s", where, resp.Status)
	default:
		return 0, fmt.Errorf("POST %s: %s: %w", where, resp.Status, errPermanent)
	}
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
