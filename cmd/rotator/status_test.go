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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/rotatorhq/rotator/internal/state"
)

// The passwords the state Secrets hold: status must never print them.
const (
	currentPassword = "cur-pw-never-printed"
	pendingPassword = "pend-pw-never-printed"
)

// stateCluster is a fake cluster holding the states of two credentials in ns: h, healthy with a
// pending credential, and g, whose last run failed; with expired, g succeeded instead and h's
// credential has expired.
func stateCluster(t *testing.T, ns string, now time.Time, expired bool) *fake.Clientset {
	t.Helper()
	c := fake.NewClientset()
	s := &state.Store{Client: c, Namespace: ns}
	h := &state.State{
		Current: &state.Issued{ID: "17", Name: "robot$h-1", Registry: "harbor.example.com", Password: currentPassword,
			IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(30 * 24 * time.Hour)},
		Pending: &state.Issued{ID: "18", Name: "robot$h-2", Password: pendingPassword, IssuedAt: now},
		LastRun: &state.Run{Time: now.Add(-time.Hour), Result: "succeeded"},
	}
	g := &state.State{
		Current: &state.Issued{ID: "5", Name: "gitlab-g-1", Registry: "registry.example.com", Password: currentPassword, IssuedAt: now.Add(-time.Hour)},
		LastRun: &state.Run{Time: now, Result: "failed", Error: "gitlab: 401 Unauthorized"},
	}
	if expired {
		g.LastRun = &state.Run{Time: now, Result: "succeeded"}
		h.Current.ExpiresAt = now.Add(-time.Minute)
	}
	for name, st := range map[string]*state.State{"h": h, "g": g} {
		if err := s.Save(context.Background(), name, st); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// runStatus runs `rotator status args...` against kube; it returns stdout and the error.
func runStatus(t *testing.T, kube kubernetes.Interface, args ...string) (string, error) {
	t.Helper()
	cmd := newStatusCommand(&globalFlags{}, func(*globalFlags) (kubernetes.Interface, error) { return kube, nil })
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true // as under the root command
	err := cmd.ExecuteContext(context.Background())
	for _, pw := range []string{currentPassword, pendingPassword} {
		if strings.Contains(out.String()+errb.String(), pw) {
			t.Fatalf("status %v printed a password:\n%s%s", args, out.String(), errb.String())
		}
	}
	return out.String(), err
}

func exitCodeOf(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return exitOK
}

// Without --config, status reads the state Secrets of the rotator's namespace alone: each
// credential's current id and expiry, its pending one, its last run; exit 1 as one failed.
func TestStatusWithoutConfigReadsTheStateSecrets(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	kube := stateCluster(t, "rotator-system", now, false)

	out, err := runStatus(t, kube, "-o", "json")
	if code := exitCodeOf(err); code != exitFailed {
		t.Fatalf("exit %d (%v), want %d: g's last run failed", code, err, exitFailed)
	}
	var doc struct {
		StateNamespace string
		Note           string
		Credentials    []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.StateNamespace != "rotator-system" || !strings.Contains(doc.Note, "--config") || len(doc.Credentials) != 2 {
		t.Fatalf("document %s", out)
	}
	g, h := doc.Credentials[0], doc.Credentials[1]
	if h["credential"] != "h" || h["id"] != "17" || h["name"] != "robot$h-1" || h["pending"] != "robot$h-2" ||
		h["expires"] != now.Add(30*24*time.Hour).Format(time.RFC3339) || h["lastResult"] != "succeeded" || h["registry"] != "harbor.example.com" {
		t.Errorf("h: %v", h)
	}
	if g["credential"] != "g" || g["id"] != "5" || g["lastResult"] != "failed" || g["lastError"] != "gitlab: 401 Unauthorized" {
		t.Errorf("g: %v", g)
	}
	for _, row := range doc.Credentials {
		for _, k := range []string{"namespaces", "namespacesInSync", "nextRun", "provider"} {
			if _, ok := row[k]; ok {
				t.Errorf("%s: %s is shown, but is not known without the config", row["credential"], k)
			}
		}
	}

	out, err = runStatus(t, kube)
	if exitCodeOf(err) != exitFailed {
		t.Fatalf("text: exit %v", err)
	}
	for _, want := range []string{"CREDENTIAL", "REGISTRY", "robot$h-1", "17", "robot$h-2", "g: last run failed: gitlab: 401 Unauthorized", noConfigNote} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if out, err := runStatus(t, kube, "-o", "yaml"); exitCodeOf(err) != exitFailed || !strings.Contains(out, "id: \"17\"") {
		t.Errorf("yaml: exit %v\n%s", err, out)
	}
}

// Healthy states exit 0; -n reads another namespace; none there is exit 1, naming it; an
// expired credential is not healthy, whatever its last run.
func TestStatusWithoutConfigExitCodes(t *testing.T) {
	now := time.Now().UTC()
	kube := stateCluster(t, "platform", now, true)
	if out, err := runStatus(t, kube, "-n", "platform"); exitCodeOf(err) != exitFailed || !strings.Contains(out, "h: credential robot$h-1 expired at") {
		t.Fatalf("expired: %v\n%s", err, out)
	}
	s := &state.Store{Client: kube, Namespace: "platform"}
	if err := kube.CoreV1().Secrets("platform").Delete(context.Background(), state.SecretName("h"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background(), "h", &state.State{Current: &state.Issued{ID: "1", Name: "robot$h", IssuedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if out, err := runStatus(t, kube, "-n", "platform"); err != nil {
		t.Fatalf("healthy states: %v\n%s", err, out)
	}
	_, err := runStatus(t, kube)
	if exitCodeOf(err) != exitFailed || !strings.Contains(err.Error(), "no state secret in namespace rotator-system") {
		t.Fatalf("no state in rotator-system: %v", err)
	}
}

// Usage errors: a bad -o, -n with --config (the config says where the state is), a cluster
// the config does not have.
func TestStatusUsageErrors(t *testing.T) {
	kube := fake.NewClientset()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// No cluster: were the config wired, it would fail there (exit 1), not as a usage error.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	for _, args := range [][]string{{"-o", "xml"}, {"--config", cfg, "-n", "x"}, {"-o", "xml", "--config", cfg}, {"--config", cfg, "--cluster", "north"}} {
		if _, err := runStatus(t, kube, args...); exitCodeOf(err) != exitUsage {
			t.Errorf("status %v: %v, want exit %d", args, err, exitUsage)
		}
	}
}
