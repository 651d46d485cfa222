package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// closedServer is the address of a port nothing listens on (taken, then released).
func closedServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

func writeKubeconfig(t *testing.T, dir, name, server string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, server)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runDoctorCmd runs `rotator doctor args...` under the root command's settings.
func runDoctorCmd(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	cmd := newDoctorCommand(&globalFlags{kubeconfig: kubeconfig})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// --cluster: a member needs the config that defines it, a name the config lacks is refused
// naming the clusters it has (both usage errors, before any cluster is asked), and a member that
// does not answer is the doctor's "could not check" (exit 1), naming it, its server and the fix.
func TestDoctorClusterFlag(t *testing.T) {
	dir := t.TempDir()
	local := writeKubeconfig(t, dir, "local", closedServer(t))
	memberServer := closedServer(t)
	member := writeKubeconfig(t, dir, "east", memberServer)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("clusters:\n- name: east\n  kubeconfigFrom: {file: "+member+"}\n"+validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{args: []string{"--cluster", "east"}, wantCode: exitUsage, want: []string{"--cluster needs --config"}},
		{args: []string{"--config", cfg, "--cluster", "west"}, wantCode: exitUsage, want: []string{`unknown cluster "west": the config's clusters are local, east`}},
		{args: []string{"--config", cfg, "--cluster", "east", "-n", "shop"}, wantCode: exitFailed,
			want: []string{"cluster east: cannot reach its API server at " + memberServer, "connection refused", "kubeconfigFrom or kubeconfigSecret"}},
	} {
		_, err := runDoctorCmd(t, local, tc.args...)
		if code := exitCodeOf(err); code != tc.wantCode {
			t.Errorf("doctor %v: exit %d (%v), want %d", tc.args, code, err, tc.wantCode)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("doctor %v: %v\nlacks %q", tc.args, err, w)
			}
		}
	}
}
