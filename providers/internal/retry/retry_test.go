package retry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"0":                 0,
		"5":                 5 * time.Second,
		"-3":                0,
		"99999999999999999": 24 * time.Hour, // clamped, not overflowed
		now.Add(-time.Minute).Format(http.TimeFormat): 0,
		now.Add(time.Minute).Format(http.TimeFormat):  time.Minute,
	} {
		if got, ok := ParseRetryAfter(v, now); !ok || got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "soon"} {
		if _, ok := ParseRetryAfter(v, now); ok {
			t.Errorf("ParseRetryAfter(%q) accepted", v)
		}
	}
}

type apiError struct{ status int }

func (e *apiError) Error() string { return "HTTP " + http.StatusText(e.status) }

func call(classify func(error, int) Decision) Call {
	return Call{Name: "list", System: "Test", Log: slog.New(slog.DiscardHandler),
		Unwrap: Unwrap[*apiError], Classify: classify}
}

func TestDoBacksOffAndGivesUp(t *testing.T) {
	var slept []time.Duration
	p := Default()
	p.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	tries := 0
	err := p.Do(context.Background(), call(func(_ error, attempt int) Decision { return After(p.Backoff(attempt)) }),
		func(context.Context) error { tries++; return fmt.Errorf("Get \"https://h/x\": %w", &apiError{503}) })
	// fn's error wrapped as http.Client wraps it: the API error alone is kept.
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") || !strings.HasPrefix(err.Error(), "HTTP Service Unavailable") {
		t.Fatalf("err = %v", err)
	}
	if want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}; tries != 4 || !slices.Equal(slept, want) {
		t.Fatalf("%d tries, slept %v; want 4 tries and %v", tries, slept, want)
	}
}

func TestDoStopsWithWhy(t *testing.T) {
	p := Default()
	tries := 0
	err := p.Do(context.Background(), call(func(error, int) Decision { return Decision{Why: "asked to wait a day"} }),
		func(context.Context) error { tries++; return &apiError{429} })
	if tries != 1 || err == nil || err.Error() != "HTTP Too Many Requests (asked to wait a day)" {
		t.Fatalf("%d tries, err = %v", tries, err)
	}
}

func TestDoBoundsEachAttempt(t *testing.T) {
	p := Default()
	p.AttemptTimeout = 10 * time.Millisecond
	p.Sleep = func(context.Context, time.Duration) error { return nil }
	tries := 0
	err := p.Do(context.Background(), call(func(err error, attempt int) Decision {
		if Timeout(err) {
			return After(0)
		}
		return Decision{}
	}), func(ctx context.Context) error {
		tries++
		if tries == 1 {
			<-ctx.Done() // the first attempt hangs until its deadline
			return ctx.Err()
		}
		return nil
	})
	if err != nil || tries != 2 {
		t.Fatalf("%d tries, err = %v; want the hung attempt cut off and retried", tries, err)
	}
}
