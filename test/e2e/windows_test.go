//go:build integration

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/state"
)

// windowsConfig is a credential due 10 s after each issue (renewBefore just under its 30-day
// lifetime), with one window opening at start for an hour.
func windowsConfig(t *testing.T, name string, nss []string, start string) string {
	t.Helper()
	return rotatorConfig(t, cfgOpts{name: name, namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{rig.Images["proj-a"]},
		revokeAfter: fmt.Sprintf("1h\n  renewBefore: 719h59m50s\n  allowFrequentRotation: true\n  windows: [{start: %q, duration: 1h}]", start)})
}

// Windows against the sandbox: a bad window is refused naming its path; `rotate now
// --respect-windows` outside every window does nothing and exits 0, and without the flag
// rotates; `rotator run` makes a due credential wait for a window that opens in time (no
// robot issued), and rotates one at once, saying so (log, Event, metric), when the next window
// opens only after it would have used up half of its renewal margin.
func TestWindowsDeferAndOverride(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "win", 1)
	now := time.Now().UTC()
	soon := now.Add(2 * time.Hour)       // a daily window, next in 2 h: in time
	late := now.Add(60 * 24 * time.Hour) // a yearly one, next in 60 days: too late
	daily := fmt.Sprintf("%d %d * * *", soon.Minute(), soon.Hour())
	yearly := fmt.Sprintf("0 0 %d %d *", late.Day(), int(late.Month()))

	badCfg := rotatorConfig(t, cfgOpts{name: "win", namespaces: nss, projects: []string{"proj-a"},
		revokeAfter: `1h
  windows: [{start: "0 2 * * 6", duration: 8d}]`})
	res := runRotator(t, rig.RotatorKubeconfig, "config", "validate", "--config", badCfg)
	if res.Code != 2 || !strings.Contains(res.Stderr, "credentials[0].windows[0].duration") || !strings.Contains(res.Stderr, "at most 7d") {
		t.Errorf("config validate of an 8-day window: exit %d\n%s", res.Code, res.Stderr)
	}

	cfg := windowsConfig(t, "win", nss, daily)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--respect-windows")
	if res.Code != 0 || !strings.Contains(res.Stdout, "win: outside every window; next at "+soon.Truncate(time.Minute).Format(time.RFC3339)) {
		t.Fatalf("rotate now --respect-windows outside the window: exit %d\nstdout:\n%s\nstderr:\n%s", res.Code, res.Stdout, res.Stderr)
	}
	if n := len(robotsNamed("rotator-win-")); n != 0 {
		t.Fatalf("rotate now --respect-windows outside every window issued %d robots", n)
	}
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg)
	if res.Code != 0 || len(robotsNamed("rotator-win-")) != 1 {
		t.Fatalf("rotate now (windows ignored): exit %d, %d robots\n%s", res.Code, len(robotsNamed("rotator-win-")), res.Stderr)
	}
	time.Sleep(10 * time.Second) // the credential is now due by age

	// The next window opens in 2 hours, well within half of the renewal margin: it waits.
	svc := startServiceWith(t, rotatorBin, nil, cfg, "-v")
	eventually(t, 60*time.Second, "the due credential waits for the window", func() (bool, string) {
		return strings.Contains(svc.stderr.String(), "due credential waits for the next window"), "not said yet"
	})
	if n := len(robotsNamed("rotator-win-")); n != 1 {
		t.Fatalf("a due credential was rotated outside every window although the next one opens in time: %d robots", n)
	}
	if strings.Contains(svc.stderr.String(), "rotating outside every window") {
		t.Fatalf("override announced although the window opens in time:\n%s", svc.stderr.String())
	}
	_ = svc.cmd.Process.Kill()
	_, _ = svc.cmd.Process.Wait()

	// The next window opens in 60 days: the credential is rotated now, and that is said.
	cfg = windowsConfig(t, "win", nss, yearly)
	svc = startServiceWith(t, rotatorBin, nil, cfg)
	eventually(t, 60*time.Second, "the override rotates", func() (bool, string) {
		// >= 1: each new credential is due again 10 s after its issue, and overridden again.
		return svc.metric(`rotator_window_overrides_total{credential="win"}`) >= 1 && len(robotsNamed("rotator-win-")) >= 2,
			fmt.Sprintf("metric %v, %d robots", svc.metric(`rotator_window_overrides_total{credential="win"}`), len(robotsNamed("rotator-win-")))
	})
	if !strings.Contains(svc.stderr.String(), "rotating outside every window: the credential cannot wait for the next one") {
		t.Errorf("no override log line:\n%s", svc.stderr.String())
	}
	// Events are sent in the background: they may follow the metric by a moment.
	eventually(t, 30*time.Second, "a RotatedOutsideWindow event on the state Secret", func() (bool, string) {
		evs, err := rig.Admin.CoreV1().Events(stateNS).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + state.SecretName("win")})
		if err != nil {
			return false, err.Error()
		}
		for _, ev := range evs.Items {
			if ev.Reason == "RotatedOutsideWindow" && ev.Type == "Warning" && strings.Contains(ev.Message, "rotated outside every window") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events, none of the override", len(evs.Items))
	})
}
