package config

import (
	"time"

	"github.com/robfig/cron/v3"
)

// MinRotationInterval is the shortest time between two rotations of a credential that a config
// may ask for without AllowFrequentRotation, and that the service allows itself: each rotation
// issues a credential and restarts every dependent workload.
const MinRotationInterval = time.Hour

// scheduleHorizon bounds how far ahead a schedule's firings are measured. A 5-field cron spec
// repeats every year but for leap days and weekdays, which two years show well enough: a spec
// that fires only on 29 February is seen as a gap of more than two years, refused for any
// shorter renewal window.
const scheduleHorizon = 2 * 365 * 24 * time.Hour

// scheduleReference is where the measure starts: a fixed time, so that a config valid today is
// valid tomorrow; and UTC, so that it is valid on a laptop in Berlin as in a cluster in UTC (cron
// reads a spec without CRON_TZ in the zone of the time it is given; CRON_TZ keeps its own).
var scheduleReference = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// dstSlack is how much longer than the renewal window a schedule's gap may be: the hour clocks
// move for daylight saving stretches a weekly gap to 7d1h once a year, and a schedule that short
// of the window renews by age an hour early once a year, which is harmless.
const dstSlack = time.Hour

// firings sums up a schedule over the horizon.
type firings struct {
	// short is a pair of consecutive firings less than MinRotationInterval apart, if any
	// (shortAt zero: none). It is an example, not necessarily the closest pair: see measure.
	shortAt, shortNext time.Time
	// longest gap between consecutive firings, ending at longEnd.
	longest time.Duration
	longEnd time.Time
}

func (f *firings) long(gap time.Duration, end time.Time) {
	if gap > f.longest {
		f.longest, f.longEnd = gap, end
	}
}

// measure walks s's firings from scheduleReference over scheduleHorizon; s must fire at least
// once (cron's Next is not zero). Walking every firing of "* * * * *" or "@every 1s" would take
// millions of steps, so where two firings are closer than MinRotationInterval the walk skips
// ahead by that much: at most horizon/MinRotationInterval steps (17,520) of two Next calls. The
// skip loses nothing the checks need: a skip follows a close pair, which already shows the
// schedule fires more often than hourly; and the gap after a skip is measured from the skip
// point, short of the true gap by under an hour: at worst one renewal by age instead of by
// schedule, never a missed renewal. Gaps between firings an hour or more apart are exact.
//
// window > 0 and wantShort say what the caller checks, so the walk stops once both answers are
// known (the longest gap exceeds window; a close pair is found).
func measure(s cron.Schedule, window time.Duration, wantShort bool) firings {
	var f firings
	done := func() bool {
		return (window <= 0 || f.longest > window) && (!wantShort || !f.shortAt.IsZero())
	}
	end := scheduleReference.Add(scheduleHorizon)
	at := s.Next(scheduleReference)
	if at.IsZero() {
		return f
	}
	// The firing before the reference is at or before it: this is a lower bound of a real gap.
	f.long(at.Sub(scheduleReference), at)
	for at.Before(end) && !done() {
		next := s.Next(at)
		if next.IsZero() { // a spec whose next firing is over five years away
			break
		}
		gap := next.Sub(at)
		f.long(gap, next)
		if gap >= MinRotationInterval {
			at = next
			continue
		}
		if f.shortAt.IsZero() {
			f.shortAt, f.shortNext = at, next
		}
		from := at.Add(MinRotationInterval)
		if next = s.Next(from); next.IsZero() {
			break
		}
		f.long(next.Sub(from), next)
		at = next
	}
	return f
}
