//go:build integration

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// kubeVersion is the Kubernetes release the tools are pinned to (hack/build-tools.sh).
const kubeVersion = "v1.37.2"

// TestKubectlVersion starts the sandbox's control plane and runs `kubectl version` against it, as
// a user (or Helm's kubeVersion check, or any version-gated client) does: it must exit 0 and the
// server must say v1.37.2. Built from the module proxy without hack/build-tools.sh's -ldflags,
// kube-apiserver reports v0.0.0-master+$Format:%H$ and kubectl exits 1.
func TestKubectlVersion(t *testing.T) {
	kubectl, err := Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cp, err := startControlPlane(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.stop)

	out, err := exec.CommandContext(ctx, kubectl, "version", "--kubeconfig", cp.AdminKubeconfig, "-o", "json").Output()
	if err != nil {
		var stderr []byte
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("kubectl version: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	var v struct {
		ServerVersion struct{ Major, Minor, GitVersion string }
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("kubectl version -o json: %v\n%s", err, out)
	}
	if s := v.ServerVersion; s.GitVersion != kubeVersion || s.Major != "1" || s.Minor != "37" {
		t.Errorf("server version = %+v, want %s (major 1, minor 37)", s, kubeVersion)
	}

	// What a user reads.
	if out, err := exec.CommandContext(ctx, kubectl, "version", "--kubeconfig", cp.AdminKubeconfig).CombinedOutput(); err != nil || !strings.Contains(string(out), "Server Version: "+kubeVersion) {
		t.Errorf("kubectl version: %v\n%s", err, out)
	}

	// Both servers are stamped the same way.
	for _, name := range []string{"kube-apiserver", "kube-controller-manager"} {
		bin, err := binary(name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != "Kubernetes "+kubeVersion {
			t.Errorf("%s --version = %q (%v), want %q", name, got, err, "Kubernetes "+kubeVersion)
		}
	}
}
