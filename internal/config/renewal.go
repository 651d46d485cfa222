package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateRenewal checks how often a credential would rotate: renewBefore against lifetime,
// and the schedule against both. The service trusts these answers; a config that would make it
// rotate in a loop, or more often than hourly by mistake, is refused here with the fix.
func validateRenewal(cr *Credential, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var window time.Duration // how long before expiry a credential is due
	hasWindow := false       // false: never expires, or renewBefore is already refused
	life := cr.Lifetime.Duration
	if frac, d, err := ParseRenewBefore(cr.RenewBefore); err != nil {
		errs = append(errs, field.Invalid(p.Child("renewBefore"), cr.RenewBefore, err.Error()))
	} else if cr.Lifetime.err == nil && life > 0 {
		window = d
		if frac > 0 {
			window = time.Duration(float64(life) * frac)
		}
		switch {
		case window >= life:
			// Due as soon as issued: every drift check would issue another credential.
			errs = append(errs, field.Invalid(p.Child("renewBefore"), cr.RenewBefore, fmt.Sprintf(
				"must be shorter than lifetime (%s), or each credential is due the moment it is issued and replaced at every check; use e.g. 30%% or a shorter duration",
				human(life))))
		case life-window < MinRotationInterval && !cr.AllowFrequentRotation:
			hasWindow = true
			errs = append(errs, field.Invalid(p.Child("lifetime"), cr.Lifetime.raw, fmt.Sprintf(
				"with renewBefore %s each credential is replaced %s after it is issued, more often than once an hour (every rotation restarts the dependent workloads); lengthen lifetime, shorten renewBefore, or set allowFrequentRotation: true if this is meant",
				cr.RenewBefore, human(life-window))))
		default:
			hasWindow = true
		}
	}
	if cr.Schedule == "" {
		return errs
	}
	sp := p.Child("schedule")
	s, err := cron.ParseStandard(cr.Schedule)
	if err != nil {
		return append(errs, field.Invalid(sp, cr.Schedule,
			"not a 5-field cron spec or descriptor (@daily, @weekly, @every 12h): "+err.Error()))
	}
	if s.Next(scheduleReference).IsZero() {
		// cron's Next is then the zero time, always in the past: the service would fire at once,
		// again and again.
		return append(errs, field.Invalid(sp, cr.Schedule,
			`never fires: no date matches it (30 February, 31 April...); use e.g. "@weekly" or "0 3 * * 1" (Mondays at 03:00)`))
	}
	if !hasWindow && cr.AllowFrequentRotation {
		return errs
	}
	limit := time.Duration(0) // the longest gap allowed; 0: none
	if hasWindow {
		limit = window + dstSlack
	}
	f := measure(s, limit, !cr.AllowFrequentRotation)
	if hasWindow && f.longest > limit {
		errs = append(errs, field.Invalid(sp, cr.Schedule, fmt.Sprintf(
			"leaves up to %s between two firings (until %s), longer than the renewal window of %s (%s): the credential would be renewed by age, not on this schedule; use a schedule that fires at least every %s%s, or a longer renewBefore",
			human(roughly(f.longest)), f.longEnd.Format("2006-01-02 15:04"), human(window), windowOrigin(cr), human(window), suggestSchedule(window))))
	}
	if !cr.AllowFrequentRotation && !f.shortAt.IsZero() {
		errs = append(errs, field.Invalid(sp, cr.Schedule, fmt.Sprintf(
			"fires more often than once an hour (at %s and %s), and each firing issues a credential and restarts every dependent workload; use e.g. \"@hourly\" or \"@daily\", or set allowFrequentRotation: true if this is meant",
			f.shortAt.Format("2006-01-02 15:04:05"), f.shortNext.Format("15:04:05"))))
	}
	return errs
}

// windowOrigin says where a renewal window comes from, for messages.
func windowOrigin(cr *Credential) string {
	if strings.HasSuffix(strings.TrimSpace(cr.RenewBefore), "%") {
		return fmt.Sprintf("renewBefore %s of lifetime %s", cr.RenewBefore, human(cr.Lifetime.Duration))
	}
	return "renewBefore " + cr.RenewBefore
}

// suggestSchedule names a descriptor that fires within window and no more than hourly.
func suggestSchedule(window time.Duration) string {
	for _, s := range []struct {
		every time.Duration
		name  string
	}{{7 * 24 * time.Hour, "@weekly"}, {24 * time.Hour, "@daily"}, {time.Hour, "@hourly"}} {
		if window >= s.every {
			return fmt.Sprintf(" such as %q", s.name)
		}
	}
	return ""
}

// roughly rounds a gap of days to the hour: measure may see it up to an hour short, and
// "334d" says what matters where "333d23h48m" suggests a precision it does not have.
func roughly(d time.Duration) time.Duration {
	if d >= 24*time.Hour {
		return d.Round(time.Hour)
	}
	return d
}

// human writes a duration as people write lifetimes: 9d, 7d12h, 1h30m, 45m, 30s.
func human(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		size time.Duration
		unit string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d >= u.size {
			fmt.Fprintf(&b, "%d%s", d/u.size, u.unit)
			d %= u.size
		}
	}
	return b.String()
}
