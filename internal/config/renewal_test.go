package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// credentialYAML is a valid credential but for the lines of extra.
func credentialYAML(extra string) []byte {
	return fmt.Appendf(nil, `credentials:
- name: c
  provider: harbor
  harbor: {url: "https://harbor.example.com", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
%s`, extra)
}

// Each problem of how often a credential rotates is refused with its path and the fix; the
// shapes people use are accepted.
func TestValidateRenewal(t *testing.T) {
	const (
		neverFires   = `credentials[0].schedule: Invalid value: "%s": never fires`
		beyondWindow = `credentials[0].schedule: Invalid value: "%s": leaves up to %s between two firings`
		tooOften     = `credentials[0].schedule: Invalid value: "%s": fires more often than once an hour`
		renewTooLong = `credentials[0].renewBefore: Invalid value: "%s": must be shorter than lifetime`
		lifeTooShort = `credentials[0].lifetime: Invalid value: "%s": with renewBefore %s each credential is replaced %s after it is issued`
	)
	for _, tc := range []struct {
		name  string
		extra string
		want  []string // substrings, one per problem; nil: valid
	}{
		{name: "defaults, weekly", extra: `  schedule: "@weekly"`},
		{name: "Mondays at 03:00 in a zone", extra: `  schedule: "CRON_TZ=Europe/Berlin 0 3 * * 1"`},
		{name: "daily within a 7d window", extra: "  lifetime: 30d\n  renewBefore: 7d\n  schedule: \"@daily\""},
		{name: "gap exactly the window", extra: "  lifetime: 10d\n  renewBefore: 7d\n  schedule: \"@weekly\""},
		{name: "weekly in Berlin, 7d1h across daylight saving", extra: "  lifetime: 10d\n  renewBefore: 7d\n  schedule: \"CRON_TZ=Europe/Berlin 0 3 * * 1\""},
		{name: "an hour over the window", extra: "  lifetime: 10d\n  renewBefore: 167h\n  schedule: \"@weekly\""},
		{name: "hourly is not too often", extra: "  lifetime: 2h\n  renewBefore: 1h\n  schedule: \"@hourly\""},
		{name: "no schedule, long lifetime", extra: "  lifetime: 365d\n  renewBefore: 30d"},
		{name: "never expires: any schedule that fires", extra: "  lifetime: \"0\"\n  schedule: \"@yearly\""},
		{name: "never expires: leap days only", extra: "  lifetime: \"0\"\n  schedule: \"0 0 29 2 *\""},
		{name: "frequent, opted in", extra: "  lifetime: 2h\n  schedule: \"*/10 * * * *\"\n  allowFrequentRotation: true"},
		{name: "short lifetime, opted in", extra: "  lifetime: 45m\n  allowFrequentRotation: true"},

		{name: "30 February", extra: `  schedule: "0 0 30 2 *"`, want: []string{fmt.Sprintf(neverFires, "0 0 30 2 *")}},
		{name: "31 April, never expiring", extra: "  lifetime: \"0\"\n  schedule: \"0 0 31 4 *\"", want: []string{fmt.Sprintf(neverFires, "0 0 31 4 *")}},
		{name: "never fires, even opted in", extra: "  schedule: \"0 0 30 2 *\"\n  allowFrequentRotation: true", want: []string{fmt.Sprintf(neverFires, "0 0 30 2 *")}},
		{name: "monthly in a 9d window", extra: `  schedule: "@monthly"`, want: []string{fmt.Sprintf(beyondWindow, "@monthly", "31d")}},
		{name: "two hours over the window", extra: "  lifetime: 10d\n  renewBefore: 166h\n  schedule: \"@weekly\"", want: []string{fmt.Sprintf(beyondWindow, "@weekly", "7d")}},
		{name: "weekly in a 3d window", extra: "  renewBefore: 3d\n  schedule: \"@weekly\"", want: []string{fmt.Sprintf(beyondWindow, "@weekly", "7d")}},
		{name: "leap days only, expiring", extra: `  schedule: "0 0 29 2 *"`, want: []string{fmt.Sprintf(beyondWindow, "0 0 29 2 *", "789d")}},
		{name: "renewBefore equals lifetime", extra: "  lifetime: 30d\n  renewBefore: 30d", want: []string{fmt.Sprintf(renewTooLong, "30d")}},
		{name: "renewBefore beyond lifetime", extra: "  lifetime: 1d\n  renewBefore: 48h\n  allowFrequentRotation: true", want: []string{fmt.Sprintf(renewTooLong, "48h")}},
		{name: "100 percent", extra: `  renewBefore: 100%`, want: []string{`credentials[0].renewBefore: Invalid value: "100%": a percentage between 0 and 100`}},
		{name: "zero renewBefore", extra: `  renewBefore: "0"`, want: []string{`credentials[0].renewBefore: Invalid value: "0": must be positive`}},
		{name: "lifetime under an hour", extra: `  lifetime: 45m`, want: []string{fmt.Sprintf(lifeTooShort, "45m", "30%", "31m30s")}},
		{name: "renewed 30m after issue", extra: "  lifetime: 30d\n  renewBefore: 719h30m", want: []string{fmt.Sprintf(lifeTooShort, "30d", "719h30m", "30m")}},
		{name: "every 5 minutes", extra: `  schedule: "*/5 * * * *"`, want: []string{fmt.Sprintf(tooOften, "*/5 * * * *")}},
		{name: "every 30m", extra: `  schedule: "@every 30m"`, want: []string{fmt.Sprintf(tooOften, "@every 30m")}},
		{name: "two firings in one hour a day", extra: `  schedule: "0,30 3 * * *"`, want: []string{fmt.Sprintf(tooOften, "0,30 3 * * *") + " (at 2026-01-01 03:00:00 and 03:30:00)"}},
		// Every minute of January: the walk skips through the dense month and still sees the
		// eleven months without a firing.
		{name: "January only, opted in", extra: "  schedule: \"* * * 1 *\"\n  allowFrequentRotation: true", want: []string{fmt.Sprintf(beyondWindow, "* * * 1 *", "334d")}},
		{name: "January only", extra: `  schedule: "* * * 1 *"`, want: []string{fmt.Sprintf(beyondWindow, "* * * 1 *", "334d"), fmt.Sprintf(tooOften, "* * * 1 *")}},
		{name: "several at once", extra: "  lifetime: 50m\n  renewBefore: 1h\n  schedule: \"0 0 30 2 *\"", want: []string{fmt.Sprintf(renewTooLong, "1h"), fmt.Sprintf(neverFires, "0 0 30 2 *")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(credentialYAML(tc.extra), "test.yaml")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("want *InvalidError, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%s", w, err)
				}
			}
			if len(inv.Errs) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(inv.Errs), len(tc.want), err)
			}
		})
	}
}

// Each refusal names its fix.
func TestValidateRenewalNamesTheFix(t *testing.T) {
	for _, tc := range []struct{ extra, fix string }{
		{`  schedule: "0 0 30 2 *"`, `use e.g. "@weekly"`},
		{`  schedule: "@monthly"`, `fires at least every 9d such as "@weekly", or a longer renewBefore`},
		{`  schedule: "*/5 * * * *"`, `set allowFrequentRotation: true if this is meant`},
		{`  lifetime: 45m`, `lengthen lifetime, shorten renewBefore, or set allowFrequentRotation: true`},
		{"  lifetime: 30d\n  renewBefore: 30d", `use e.g. 30% or a shorter duration`},
	} {
		if _, err := Parse(credentialYAML(tc.extra), "test.yaml"); err == nil || !strings.Contains(err.Error(), tc.fix) {
			t.Errorf("%q: want the fix %q in %v", tc.extra, tc.fix, err)
		}
	}
}

// The walk is bounded however often a schedule fires.
func TestMeasureIsBounded(t *testing.T) {
	start := time.Now()
	_, err := Parse(credentialYAML("  schedule: \"@every 1s\"\n  allowFrequentRotation: true"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("validating @every 1s took %s", d)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		9 * 24 * time.Hour: "9d", 180 * time.Hour: "7d12h", 90 * time.Minute: "1h30m",
		45 * time.Minute: "45m", 30 * time.Second: "30s", 31*time.Minute + 30*time.Second: "31m30s",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
}
