package config

import (
	"strings"
	"testing"
	"time"
)

func window(start, d string) Window {
	dur, err := ParseDuration(d)
	return Window{Start: start, Duration: Duration{Duration: dur, raw: d, err: err}}
}

// Whether a time is inside a window, and when the next one opens: in UTC, in a zone with
// CRON_TZ (both on dates far from a daylight-saving change), with windows that overlap or span
// midnight, and at the exact edges ([start, start+duration)).
func TestWindowsOpenAndNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-01-03 is a Saturday; Berlin is UTC+1 in January, UTC+2 in July.
	satNight := []Window{window("0 2 * * 6", "4h")}
	for _, tc := range []struct {
		name     string
		windows  []Window
		at       time.Time
		wantOpen bool
		wantNext time.Time // zero: none
	}{
		{name: "no windows: always open", at: utc("2026-01-01 12:00:00"), wantOpen: true},
		{name: "before the window", windows: satNight, at: utc("2026-01-03 01:59:59"), wantNext: utc("2026-01-03 02:00:00")},
		{name: "at its opening", windows: satNight, at: utc("2026-01-03 02:00:00"), wantOpen: true, wantNext: utc("2026-01-10 02:00:00")},
		{name: "inside", windows: satNight, at: utc("2026-01-03 05:59:59"), wantOpen: true, wantNext: utc("2026-01-10 02:00:00")},
		{name: "at its end: closed", windows: satNight, at: utc("2026-01-03 06:00:00"), wantNext: utc("2026-01-10 02:00:00")},
		{name: "mid-week", windows: satNight, at: utc("2026-01-07 12:00:00"), wantNext: utc("2026-01-10 02:00:00")},
		{name: "spanning midnight, after it", windows: []Window{window("0 22 * * *", "4h")}, at: utc("2026-01-04 01:30:00"), wantOpen: true, wantNext: utc("2026-01-04 22:00:00")},
		{name: "spanning midnight, after its end", windows: []Window{window("0 22 * * *", "4h")}, at: utc("2026-01-04 02:00:00"), wantNext: utc("2026-01-04 22:00:00")},
		{name: "in days", windows: []Window{window("@weekly", "2d")}, at: utc("2026-01-05 23:59:00"), wantOpen: true, wantNext: utc("2026-01-11 00:00:00")},
		{name: "CRON_TZ, winter: 02:00 Berlin is 01:00 UTC", windows: []Window{window("CRON_TZ=Europe/Berlin 0 2 * * 6", "4h")},
			at: utc("2026-01-03 01:30:00"), wantOpen: true, wantNext: time.Date(2026, 1, 10, 2, 0, 0, 0, berlin)},
		{name: "CRON_TZ, winter: 05:30 UTC is after the window", windows: []Window{window("CRON_TZ=Europe/Berlin 0 2 * * 6", "4h")},
			at: utc("2026-01-03 05:30:00"), wantNext: time.Date(2026, 1, 10, 2, 0, 0, 0, berlin)},
		{name: "CRON_TZ, summer: 02:00 Berlin is 00:00 UTC", windows: []Window{window("CRON_TZ=Europe/Berlin 0 2 * * 6", "4h")},
			at: utc("2026-07-03 23:59:00"), wantNext: utc("2026-07-04 00:00:00")},
		{name: "TZ= prefix", windows: []Window{window("TZ=Asia/Tokyo 0 9 * * *", "1h")},
			at: utc("2026-01-05 00:30:00"), wantOpen: true, wantNext: utc("2026-01-06 00:00:00")},
		{name: "two windows: the earlier next", windows: []Window{window("0 2 * * 6", "4h"), window("0 12 * * 3", "1h")},
			at: utc("2026-01-05 00:00:00"), wantNext: utc("2026-01-07 12:00:00")},
		{name: "two windows: inside the second", windows: []Window{window("0 2 * * 6", "4h"), window("0 12 * * 3", "1h")},
			at: utc("2026-01-07 12:30:00"), wantOpen: true, wantNext: utc("2026-01-10 02:00:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := CompileWindows(tc.windows)
			if err != nil {
				t.Fatal(err)
			}
			if got := ws.Open(tc.at); got != tc.wantOpen {
				t.Errorf("Open(%s) = %v, want %v", tc.at, got, tc.wantOpen)
			}
			if got := ws.Next(tc.at); !got.Equal(tc.wantNext) {
				t.Errorf("Next(%s) = %s, want %s", tc.at, got, tc.wantNext)
			}
		})
	}
}

// A credential's own windows replace the top-level ones.
func TestWindowsOf(t *testing.T) {
	global := []Window{window("@daily", "1h")}
	own := []Window{window("@weekly", "2h")}
	c := &Config{Windows: global}
	if got := c.WindowsOf(&Credential{}); len(got) != 1 || got[0].Start != "@daily" {
		t.Errorf("a credential without windows got %v, want the top-level ones", got)
	}
	if got := c.WindowsOf(&Credential{Windows: own}); len(got) != 1 || got[0].Start != "@weekly" {
		t.Errorf("a credential with windows got %v, want its own", got)
	}
}

// Every bad window is refused with its path and the fix; good ones are accepted, at the top
// level and per credential.
func TestValidateWindows(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // nil: valid
	}{
		{name: "per credential", yaml: "  windows: [{start: \"CRON_TZ=Europe/Berlin 0 2 * * 6\", duration: 4h}]"},
		{name: "top level", yaml: "windows: [{start: \"@daily\", duration: 7d}]"},
		{name: "suspended", yaml: "  suspend: true"},
		{name: "bad cron", yaml: "  windows: [{start: \"0 2 * *\", duration: 4h}]",
			want: []string{`credentials[0].windows[0].start: Invalid value: "0 2 * *": not a 5-field cron spec`, `use e.g. "CRON_TZ=Europe/Berlin 0 2 * * 6"`}},
		{name: "bad zone", yaml: "windows: [{start: \"CRON_TZ=Mars/Olympus 0 2 * * 6\", duration: 4h}]",
			want: []string{`windows[0].start: Invalid value: "CRON_TZ=Mars/Olympus 0 2 * * 6": not a 5-field cron spec`}},
		{name: "never opens", yaml: "  windows: [{start: \"0 0 30 2 *\", duration: 4h}]",
			want: []string{`credentials[0].windows[0].start: Invalid value: "0 0 30 2 *": never fires`}},
		{name: "no start", yaml: "  windows: [{duration: 4h}]",
			want: []string{`credentials[0].windows[0].start: Required value: when the window opens`}},
		{name: "zero duration", yaml: "  windows: [{start: \"@daily\", duration: \"0\"}]",
			want: []string{`credentials[0].windows[0].duration: Invalid value: "0": must be more than 0`}},
		{name: "no duration", yaml: "  windows: [{start: \"@daily\"}]",
			want: []string{`credentials[0].windows[0].duration: Required value: how long the window stays open`}},
		{name: "over 7 days", yaml: "windows: [{start: \"@weekly\", duration: 8d}]",
			want: []string{`windows[0].duration: Invalid value: "8d": must be at most 7d`, "remove the windows"}},
		{name: "bad duration", yaml: "  windows: [{start: \"@daily\", duration: 4 hours}]",
			want: []string{`credentials[0].windows[0].duration: Invalid value: "4 hours": invalid duration`}},
		{name: "every problem at once", yaml: "windows: [{start: \"x\", duration: \"0\"}, {start: \"@daily\", duration: 9d}]",
			want: []string{"windows[0].start", "windows[0].duration", "windows[1].duration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(credentialYAML(tc.yaml), "test")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}
