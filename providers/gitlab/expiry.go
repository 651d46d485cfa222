package gitlab

import (
	"errors"
	"fmt"
	"time"
)

// MaxLifetime is the longest lifetime GitLab allows an access token (365 days), which the
// rotator applies to deploy tokens too: a credential that never expires defeats rotation.
const MaxLifetime = 365 * 24 * time.Hour

const day = 24 * time.Hour

// checkLifetime refuses lifetimes GitLab cannot express.
func checkLifetime(lifetime time.Duration) error {
	switch {
	case lifetime <= 0:
		return errors.New("lifetime must be positive: GitLab tokens issued by the rotator always expire (at most 365 days)")
	case lifetime > MaxLifetime:
		return fmt.Errorf("lifetime %s is longer than GitLab's maximum of 365 days", lifetime)
	}
	return nil
}

// expiryDate returns the expiry of a token issued at now for lifetime: GitLab's expiry is a
// date and a token stops working at 00:00 UTC of it. The date is rounded up, so the token lives
// at least lifetime, except that it never lies more than 365 days after today (UTC), GitLab's
// limit. The result is that date at 00:00 UTC: the real expiry, from which renewal is computed.
func expiryDate(now time.Time, lifetime time.Duration) time.Time {
	today := midnightUTC(now)
	want := now.UTC().Add(lifetime)
	d := midnightUTC(want)
	if d.Before(want) {
		d = d.Add(day)
	}
	if limit := today.AddDate(0, 0, 365); d.After(limit) {
		d = limit
	}
	if !d.After(today) {
		d = today.Add(day)
	}
	return d
}

// midnightUTC is the start of t's day in UTC.
func midnightUTC(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
