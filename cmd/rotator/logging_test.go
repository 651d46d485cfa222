package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

func TestLoggingFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		g       globalFlags
		service bool
		want    slog.Level
		usage   bool
	}{
		{name: "run logs its record at info", g: globalFlags{logFormat: "text"}, service: true, want: slog.LevelInfo},
		{name: "one-shot commands warn only", g: globalFlags{logFormat: "text"}, want: slog.LevelWarn},
		{name: "-v", g: globalFlags{logFormat: "text", verbose: true}, service: true, want: slog.LevelDebug},
		{name: "--log-level wins", g: globalFlags{logFormat: "json", verbose: true, logLevel: "error"}, want: slog.LevelError},
		{name: "bad level", g: globalFlags{logFormat: "text", logLevel: "loud"}, usage: true},
		{name: "bad format", g: globalFlags{logFormat: "xml"}, usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.g.resolveLogging(tc.service)
			var ee *exitError
			if tc.usage {
				if !errors.As(err, &ee) || ee.code != exitUsage {
					t.Fatalf("want a usage error, got %v", err)
				}
				return
			}
			if err != nil || tc.g.level != tc.want {
				t.Fatalf("level %v err %v, want %v", tc.g.level, err, tc.want)
			}
		})
	}
}

// With --log-format json every line is one JSON object, client-go's (klog) included.
func TestJSONLogsIncludeClientGo(t *testing.T) {
	g := globalFlags{logFormat: "json"}
	if err := g.resolveLogging(true); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := g.logger(&buf)
	t.Cleanup(func() { klog.ClearLogger() })
	log.Info("rotated", "credential", "c")
	klog.InfoS("from client-go", "k", "v")
	klog.Flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
	}
	if !strings.Contains(lines[1], `"msg":"from client-go"`) {
		t.Errorf("klog's line did not go through slog: %q", lines[1])
	}
}
