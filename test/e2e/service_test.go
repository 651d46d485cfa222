//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// service is one `rotator run` process.
type service struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
}

// lockedBuffer is a bytes.Buffer safe to read while the process writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func startService(t *testing.T, cfg string) *service {
	t.Helper()
	return startServiceWith(t, rotatorBin, nil, cfg)
}

// startServiceWith starts binary bin as `rotator run` with extra environment and flags.
func startServiceWith(t *testing.T, bin string, env []string, cfg string, flags ...string) *service {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &service{addr: addr}
	args := append([]string{"--kubeconfig", rig.RotatorKubeconfig, "run", "--config", cfg,
		"--listen", addr, "--lease-duration", "4s", "--no-jitter"}, flags...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(append(os.Environ(), "HARBOR_PASSWORD="+rig.HarborPassword), env...)
	s.stderr = &lockedBuffer{}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
		if t.Failed() {
			t.Logf("rotator run %s stderr:\n%s", addr, s.stderr.String())
		}
	})
	return s
}

// metric returns the value of the first sample whose line starts with prefix, or -1.
func (s *service) metric(prefix string) float64 {
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			var v float64
			_, _ = fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v) // a malformed value reads as 0
			return v
		}
	}
	return -1
}

func leaderHolder(t *testing.T) string {
	l, err := rig.Admin.CoordinationV1().Leases(stateNS).Get(context.Background(), "rotator-leader", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// Two `rotator run` replicas: exactly one rotates; killing it hands over within the lease
// duration; no credential is issued twice; metrics and status tell the truth.
func TestServiceLeaderElectionHandOverMetricsAndStatus(t *testing.T) {
	nss := namespaces(t, "svc", 2)
	for _, ns := range nss {
		if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rotatorConfig(t, cfgOpts{name: "svc", namespaces: nss, projects: []string{"proj-a"}})
	a := startService(t, cfg)
	b := startService(t, cfg)
	byPid := map[int]*service{a.cmd.Process.Pid: a, b.cmd.Process.Pid: b}

	var leader, follower *service
	eventually(t, 60*time.Second, "a leader rotates", func() (bool, string) {
		h := leaderHolder(t)
		for pid, s := range byPid {
			if strings.HasSuffix(h, fmt.Sprintf("/%d", pid)) {
				leader = s
			}
		}
		if leader == nil {
			return false, "no leader yet: " + h
		}
		return leader.metric(`rotator_runs_total{credential="svc",result="succeeded"}`) == 1, "leader has not rotated yet"
	})
	for _, s := range byPid {
		if s != leader {
			follower = s
		}
	}
	if len(robotsNamed("rotator-svc-")) != 1 {
		t.Fatalf("want exactly one robot issued, got %d", len(robotsNamed("rotator-svc-")))
	}
	if v := follower.metric("rotator_leader "); v != 0 {
		t.Fatalf("follower reports rotator_leader %v", v)
	}
	if v := follower.metric(`rotator_runs_total{credential="svc"`); v != -1 {
		t.Fatalf("the follower ran a rotation")
	}
	if v := leader.metric(`rotator_provider_api_calls_total{call="POST /api/v2.0/robots",code="201",provider="harbor"}`); v != 1 {
		t.Fatalf("api call metric: %v", v)
	}
	st := statusJSON(t, cfg)
	if st.ID == "" || st.InSync != 2 || st.Namespaces != 2 || st.LastResult != "succeeded" || st.NextRun.IsZero() {
		t.Fatalf("status after the rotation: %+v", st)
	}
	if exp := leader.metric(`rotator_credential_expiry_timestamp_seconds{credential="svc"}`); exp != float64(st.Expires.Unix()) {
		t.Fatalf("expiry metric %v, status says %v", exp, st.Expires.Unix())
	}

	lastSuccess := leader.metric(`rotator_last_success_timestamp_seconds{credential="svc"}`)
	if lastSuccess <= 0 {
		t.Fatalf("the leader exports no last success after its rotation: %v", lastSuccess)
	}

	// Kill the leader without a chance to release its lease: the follower takes over.
	killed := time.Now()
	if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the follower takes over", func() (bool, string) {
		return follower.metric("rotator_leader ") == 1, "holder " + leaderHolder(t)
	})
	if took := time.Since(killed); took > 4*time.Second+5*time.Second {
		t.Fatalf("hand-over took %s, lease duration is 4s", took)
	}
	// The new leader checks the credential at once (at the provider: the namespace controller
	// watches the cluster) and finds it alive: no run, no second robot.
	eventually(t, 20*time.Second, "new leader's first check", func() (bool, string) {
		return follower.metric(`rotator_liveness_checks_total{credential="svc",result="alive"}`) >= 1, "not yet"
	})
	if v := follower.metric(`rotator_runs_total{credential="svc"`); v != -1 {
		t.Fatalf("the new leader ran a rotation of a credential in order")
	}
	// The "no success in N days" alert survives the change of process: the new leader, which
	// rotated nothing, exports the old one's last success, read from the state.
	if v := follower.metric(`rotator_last_success_timestamp_seconds{credential="svc"}`); v < lastSuccess-1 || v > lastSuccess+1 { // the state keeps seconds
		t.Fatalf("rotator_last_success_timestamp_seconds after the hand-over: %v, the old leader's was %v", v, lastSuccess)
	}
	if n := len(robotsNamed("rotator-svc-")); n != 1 {
		t.Fatalf("a credential was issued twice for one due time: %d robots", n)
	}

	// Graceful stop of the remaining replica: SIGTERM ends it with status 0.
	if err := follower.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := follower.cmd.Wait(); err != nil {
		t.Fatalf("rotator run did not stop cleanly on SIGTERM: %v", err)
	}
}

// status shows a failure truthfully.
func TestStatusAfterFailure(t *testing.T) {
	nss, _ := rotatedOnce(t, "stfail", 1)
	// A verify image the credential may not pull: the registry refuses it (a missing tag would
	// prove the credential, TestMissingVerifyImageIsNoCredentialFailure).
	bad := rotatorConfig(t, cfgOpts{name: "stfail", namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{rig.Images["proj-b"]}})
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", bad); res.Code != 1 {
		t.Fatalf("want a failed rotation, got exit %d", res.Code)
	}
	st := statusJSON(t, bad)
	if st.LastResult != "failed" || !strings.Contains(st.LastError, rig.Images["proj-b"]) || st.InSync != 1 {
		t.Fatalf("status after a failure: %+v", st)
	}
}

type statusRow struct {
	ID         string    `json:"id"`
	Expires    time.Time `json:"expires"`
	InSync     int       `json:"namespacesInSync"`
	Namespaces int       `json:"namespaces"`
	LastResult string    `json:"lastResult"`
	LastError  string    `json:"lastError"`
	NextRun    time.Time `json:"nextRun"`
}

func statusJSON(t *testing.T, cfg string) statusRow {
	t.Helper()
	res := runRotator(t, rig.RotatorKubeconfig, "status", "--config", cfg, "-o", "json")
	var doc struct{ Credentials []statusRow }
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil || len(doc.Credentials) != 1 {
		t.Fatalf("status -o json: %v\n%s\n%s", err, res.Stdout, res.Stderr)
	}
	return doc.Credentials[0]
}
