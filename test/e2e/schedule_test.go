//go:build integration

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/state"
)

// A schedule that never fires ("0 0 30 2 *": cron's next time is then the zero time, which the
// service read as "due" at every step, issuing a robot and restarting every workload each time)
// is refused before anything runs: `config validate` and `rotator run` exit 2 naming the field,
// and no robot is issued at Harbor.
func TestScheduleThatNeverFiresIsRefused(t *testing.T) {
	nss := namespaces(t, "sched", 1)
	// A verify image, so that a robot the old code issued stays to be seen among the robots.
	cfg := rotatorConfig(t, cfgOpts{name: "sched", namespaces: nss, projects: []string{"proj-a"},
		verifyImages: []string{rig.Images["proj-a"]}, schedule: "0 0 30 2 *"})
	const path = "credentials[0].schedule"

	res := runRotator(t, rig.RotatorKubeconfig, "config", "validate", "--config", cfg)
	if res.Code != 2 || !strings.Contains(res.Stderr, path) || !strings.Contains(res.Stderr, "never fires") {
		// Errorf: the service's part below is checked as well.
		t.Errorf("config validate: want exit 2 naming %s (never fires), got exit %d\nstdout:\n%s\nstderr:\n%s", path, res.Code, res.Stdout, res.Stderr)
	}

	before := robotNames("rotator-sched-")
	rig.Harbor.ResetRequests()
	// On the old code the service never exits by itself: give it long enough to win the lease
	// (4 s) and rotate, then stop it.
	code, stderr := runServiceFor(t, 30*time.Second, cfg)
	if code != 2 || !strings.Contains(stderr, path) {
		t.Errorf("rotator run: want exit 2 naming %s before starting, got exit %d\nstderr:\n%s", path, code, stderr)
	}
	if after := robotNames("rotator-sched-"); !slices.Equal(before, after) {
		t.Errorf("rotator run issued robots: before %v, after %v", before, after)
	}
	if c := harborChanges(); len(c) != 0 {
		t.Errorf("rotator run changed Harbor: %v", c)
	}
	_, err := rig.Admin.CoreV1().Secrets(stateNS).Get(context.Background(), state.SecretName("sched"), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("rotator run wrote state for the refused credential (get: %v)", err)
	}
}

// robotNames are the sorted names of the Harbor double's robots containing s.
func robotNames(s string) []string {
	var out []string
	for _, r := range robotsNamed(s) {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// runServiceFor runs `rotator run` on cfg until it exits or for at most d, and returns its exit
// code (-1 if it had to be stopped) and its stderr.
func runServiceFor(t *testing.T, d time.Duration, cfg string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, rotatorBin, "--kubeconfig", rig.RotatorKubeconfig, "run", "--config", cfg,
		"--listen", "127.0.0.1:0", "--lease-duration", "4s", "--no-jitter")
	cmd.Env = append(os.Environ(), "HARBOR_PASSWORD="+rig.HarborPassword)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return -1, errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), errb.String()
	case err != nil:
		t.Fatalf("run rotator: %v", err)
	}
	return 0, errb.String()
}

// renewBefore at or beyond the lifetime (the credential would be due the moment it is issued,
// and the service issued one at every drift check) is refused before anything runs too.
func TestRenewBeforeBeyondLifetimeIsRefused(t *testing.T) {
	nss := namespaces(t, "renewlife", 1)
	cfg := rotatorConfig(t, cfgOpts{name: "renewlife", namespaces: nss, projects: []string{"proj-a"},
		verifyImages: []string{rig.Images["proj-a"]}, revokeAfter: "1h\n  renewBefore: 31d"}) // the lifetime is 30d
	const path = "credentials[0].renewBefore"
	res := runRotator(t, rig.RotatorKubeconfig, "config", "validate", "--config", cfg)
	if res.Code != 2 || !strings.Contains(res.Stderr, path) {
		t.Errorf("config validate: want exit 2 naming %s, got exit %d\nstdout:\n%s\nstderr:\n%s", path, res.Code, res.Stdout, res.Stderr)
	}
	before := robotNames("rotator-renewlife-")
	code, stderr := runServiceFor(t, 30*time.Second, cfg)
	if code != 2 || !strings.Contains(stderr, path) {
		t.Errorf("rotator run: want exit 2 naming %s before starting, got exit %d\nstderr:\n%s", path, code, stderr)
	}
	if after := robotNames("rotator-renewlife-"); !slices.Equal(before, after) {
		t.Errorf("rotator run issued robots: before %v, after %v", before, after)
	}
}
