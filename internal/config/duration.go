package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as Go does ("90m", "720h") or in whole days ("30d"),
// because Harbor and GitLab count credential lifetimes in days. Decoding keeps a bad value and
// its error instead of failing, so that Validate reports it together with every other problem.
type Duration struct {
	time.Duration
	raw string
	err error
}

// ParseDuration accepts Go syntax or whole days ("30d"); "0" is zero.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number, e.g. 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use e.g. 90m, 720h or 30d", s)
	}
	return d, nil
}

// NewDuration is a valid Duration of d.
func NewDuration(d time.Duration) Duration { return Duration{Duration: d, raw: d.String()} }

// IsSet reports whether the field was given.
func (d Duration) IsSet() bool { return d.raw != "" }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		d.raw, d.err = string(b), fmt.Errorf("a duration is a string such as \"720h\" or \"30d\", not %s", b)
		return nil
	}
	d.raw = s
	d.Duration, d.err = ParseDuration(s)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }
