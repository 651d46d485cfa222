package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Window is a period during which `rotator run` may rotate on schedule and restart workloads:
// it opens at each firing of Start and stays open for Duration. Outside every window scheduled
// rotations wait for the next one and restarts are queued until it opens; a credential that
// would expire before then is rotated anyway (internal/service/windows.go).
type Window struct {
	// Start is when the window opens: a 5-field cron spec or descriptor, in UTC unless it starts
	// with CRON_TZ=<zone> (or TZ=<zone>), as schedule is, e.g. "CRON_TZ=Europe/Berlin 0 2 * * 6".
	Start string `json:"start"`
	// Duration the window stays open: more than 0, at most MaxWindowDuration ("4h", "1d").
	Duration Duration `json:"duration"`
}

// MaxWindowDuration is the longest window: a week is the longest period of a cron spec that
// fires every week, so a longer window is always open and says nothing.
const MaxWindowDuration = 7 * 24 * time.Hour

// Windows are windows ready to be asked whether a time is inside one. A nil Windows has no
// windows at all: every time is allowed.
type Windows []compiledWindow

type compiledWindow struct {
	start cron.Schedule
	d     time.Duration
}

// WindowsOf are the windows that apply to cr: its own, else the top-level ones.
func (c *Config) WindowsOf(cr *Credential) []Window {
	if len(cr.Windows) > 0 {
		return cr.Windows
	}
	return c.Windows
}

// CompileWindows parses ws (nil or empty: no windows, nil Windows). Validate refuses what fails
// here; the error is for callers that were given a config Validate did not see.
func CompileWindows(ws []Window) (Windows, error) {
	var out Windows
	for i, w := range ws {
		s, err := cron.ParseStandard(w.Start)
		if err != nil {
			return nil, fmt.Errorf("window %d: start %q: %w", i, w.Start, err)
		}
		if w.Duration.err != nil || w.Duration.Duration <= 0 {
			return nil, fmt.Errorf("window %d: duration %q must be more than 0", i, w.Duration.raw)
		}
		out = append(out, compiledWindow{start: s, d: w.Duration.Duration})
	}
	return out, nil
}

// Open reports whether t is inside some window (always, when there are none). A window that
// opened at s covers [s, s+duration): t is inside iff the first opening after t-duration is not
// after t, which cron's Next answers in one call, whatever the schedule.
func (ws Windows) Open(t time.Time) bool {
	if len(ws) == 0 {
		return true
	}
	for _, w := range ws {
		if s := w.start.Next(t.Add(-w.d)); !s.IsZero() && !s.After(t) {
			return true
		}
	}
	return false
}

// Next is the earliest opening of a window after t (zero: no window ever opens again, or there
// are no windows).
func (ws Windows) Next(t time.Time) time.Time {
	var out time.Time
	for _, w := range ws {
		if s := w.start.Next(t); !s.IsZero() && (out.IsZero() || s.Before(out)) {
			out = s
		}
	}
	return out
}

// validateAllWindows checks the top-level windows and every credential's.
func validateAllWindows(c *Config) field.ErrorList {
	errs := validateWindows(c.Windows, field.NewPath("windows"))
	for i := range c.Credentials {
		errs = append(errs, validateWindows(c.Credentials[i].Windows, field.NewPath("credentials").Index(i).Child("windows"))...)
	}
	return errs
}

const windowExample = `e.g. "CRON_TZ=Europe/Berlin 0 2 * * 6" (Saturdays at 02:00 Berlin time)`

func validateWindows(ws []Window, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, w := range ws {
		wp := p.Index(i)
		switch s, err := cron.ParseStandard(w.Start); {
		case w.Start == "":
			errs = append(errs, field.Required(wp.Child("start"), "when the window opens: a cron spec, "+windowExample))
		case err != nil:
			errs = append(errs, field.Invalid(wp.Child("start"), w.Start, "not a 5-field cron spec or descriptor: "+err.Error()+"; use "+windowExample))
		case s.Next(scheduleReference).IsZero():
			errs = append(errs, field.Invalid(wp.Child("start"), w.Start, "never fires: no date matches it (30 February, 31 April...), so the window never opens; use "+windowExample))
		}
		dp := wp.Child("duration")
		switch d := w.Duration; {
		case d.err != nil:
			errs = append(errs, field.Invalid(dp, d.raw, d.err.Error()))
		case !d.IsSet():
			errs = append(errs, field.Required(dp, `how long the window stays open, e.g. "4h"`))
		case d.Duration <= 0:
			errs = append(errs, field.Invalid(dp, d.raw, `must be more than 0 (a window that is never open), e.g. "4h"`))
		case d.Duration > MaxWindowDuration:
			errs = append(errs, field.Invalid(dp, d.raw, fmt.Sprintf(
				"must be at most %s: a longer window is open all the time; shorten it, or remove the windows to allow rotations at any time", human(MaxWindowDuration))))
		}
	}
	return errs
}
