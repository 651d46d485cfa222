package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotatorhq/rotator/internal/config"
)

// Saturdays 02:00–06:00 UTC; 2026-01-07 is a Wednesday.
const windowedConfig = validConfig + `  windows: [{start: "0 2 * * 6", duration: 4h}]
- name: free
  provider: harbor
  harbor: {url: "https://harbor.example.com", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`

var wednesday = time.Date(2026, 1, 7, 12, 0, 0, 0, time.UTC)

func TestSplitByWindows(t *testing.T) {
	cfg, err := config.Parse([]byte(windowedConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	creds := []*config.Credential{&cfg.Credentials[0], &cfg.Credentials[1]}
	for _, tc := range []struct {
		name     string
		global   []config.Window
		now      time.Time
		wantRun  []string
		wantSkip string
	}{
		{name: "outside: the windowed one is left alone", now: wednesday, wantRun: []string{"free"}, wantSkip: "h: outside every window; next at 2026-01-10T02:00:00Z"},
		{name: "inside: both run", now: time.Date(2026, 1, 10, 3, 0, 0, 0, time.UTC), wantRun: []string{"h", "free"}},
		{name: "top-level windows bind the other", now: wednesday,
			global: []config.Window{{Start: "0 12 * * 0", Duration: config.NewDuration(time.Hour)}}, wantSkip: "free: outside every window; next at 2026-01-11T12:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg.Windows = tc.global
			run, skipped := splitByWindows(cfg, creds, tc.now)
			var names []string
			for _, c := range run {
				names = append(names, c.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.wantRun, ",") {
				t.Errorf("run %v, want %v", names, tc.wantRun)
			}
			var lines []string
			for _, s := range skipped {
				lines = append(lines, s.String())
			}
			if got := strings.Join(lines, "\n"); tc.wantSkip != "" && !strings.Contains(got, tc.wantSkip) {
				t.Errorf("skipped %q, want %q", got, tc.wantSkip)
			}
		})
	}
}

// rotate now --respect-windows outside every window does nothing, says when the next window
// opens and exits 0; without the flag it goes on to rotate (here it then fails to reach a
// cluster, which shows it tried).
func TestRotateNowRespectWindows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(windowedConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &globalFlags{kubeconfig: filepath.Join(dir, "no-kubeconfig")}
	run := func(f *rotateFlags) (string, error) {
		var out bytes.Buffer
		cmd := &cobra.Command{}
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetContext(context.Background())
		f.config, f.credential, f.now = path, "h", func() time.Time { return wednesday }
		err := runRotateNow(cmd, g, f)
		return out.String(), err
	}

	out, err := run(&rotateFlags{output: "text", respectWindows: true})
	if err != nil || exitCode(err) != exitOK {
		t.Fatalf("exit %d (%v), want 0: nothing failed", exitCode(err), err)
	}
	if want := "h: outside every window; next at 2026-01-10T02:00:00Z: nothing done (--respect-windows)"; !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}

	out, err = run(&rotateFlags{output: "json", respectWindows: true})
	if err != nil {
		t.Fatalf("-o json: %v", err)
	}
	var doc struct {
		OK             bool `json:"ok"`
		OutsideWindows []struct {
			Credential string    `json:"credential"`
			NextWindow time.Time `json:"nextWindow"`
		} `json:"outsideWindows"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("-o json printed %q: %v", out, err)
	}
	if !doc.OK || len(doc.OutsideWindows) != 1 || doc.OutsideWindows[0].Credential != "h" || !doc.OutsideWindows[0].NextWindow.Equal(time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("-o json: %+v", doc)
	}

	_, err = run(&rotateFlags{output: "text"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFailed || !strings.Contains(err.Error(), "kubeconfig") {
		t.Errorf("without --respect-windows: %v, want an attempt to rotate (failing here on the missing cluster)", err)
	}
}
