//go:build integration

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// hygiene collects what the rotator printed, logged and recorded, and fails if a secret is in it.
type hygiene struct {
	t       *testing.T
	outputs []string
}

func (h *hygiene) add(outs ...string) { h.outputs = append(h.outputs, outs...) }

func (h *hygiene) run(env []string, args ...string) rotateResult {
	h.t.Helper()
	res := runRotatorWith(h.t, rotatorBin, env, rig.RotatorKubeconfig, append([]string{"-v"}, args...)...)
	h.add(res.Stdout, res.Stderr)
	return res
}

// service adds the log, the metrics and the process arguments of a running `rotator run`.
func (h *hygiene) service(svc *service) {
	h.t.Helper()
	if resp, err := http.Get("http://" + svc.addr + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h.add(string(b))
	}
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(svc.cmd.Process.Pid) + "/cmdline")
	h.add(string(cmdline), svc.stderr.String())
}

func (h *hygiene) events(nss ...string) {
	h.t.Helper()
	for _, ns := range nss {
		evs, err := rig.Admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, e := range evs.Items {
			h.add(e.Message)
		}
	}
}

func (h *hygiene) check(secrets map[string]string) {
	h.t.Helper()
	scanned := 0
	for _, out := range h.outputs {
		scanned += len(out)
		for what, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				h.t.Fatalf("the %s appeared in the rotator's output:\n%s", what, out)
			}
		}
	}
	h.t.Logf("hygiene scan: %d outputs, %d bytes, %d secrets: none found", len(h.outputs), scanned, len(secrets))
}

// GitLab: neither the admin token nor an issued deploy token, nor its base64 auth, appears in
// any command's output, the service's log, metrics, Events or arguments.
func TestSecretHygieneGitLab(t *testing.T) {
	nss := namespaces(t, "hyggl", 1)
	cfg := gitlabConfig(t, gitlabCredential(gitlabOpts{name: "hyggl", namespaces: nss, revokeAfter: "0s", verifyImages: []string{rig.GitLabImages["group-a/app"]}}))
	h := &hygiene{t: t}
	env := []string{"GITLAB_TOKEN=" + rig.GitLabToken}
	h.run(env, "config", "validate", "--config", cfg)
	h.run(env, "rotate", "now", "--config", cfg, "--dry-run", "-o", "json")
	if res := h.run(env, "rotate", "now", "--config", cfg, "-o", "json"); res.Code != 0 {
		t.Fatalf("rotate now with GitLab failed (exit %d): %s\n%s", res.Code, allErrors(res), res.Stderr)
	}
	u1, p1 := gitlabSecretCredential(t, nss[0], gitlabSecret)
	h.run(env, "rotate", "now", "--config", cfg, "-o", "json")
	u2, p2 := gitlabSecretCredential(t, nss[0], gitlabSecret)
	h.run(env, "status", "--config", cfg, "-o", "json")
	h.run(env, "doctor", "--config", cfg, "--probe", "-n", nss[0])
	// A wrong admin token: the failure names the token's problem, not the token.
	h.run([]string{"GITLAB_TOKEN=" + rig.GitLabToken + "x"}, "rotate", "now", "--config", cfg, "-o", "json")

	svc := startServiceWith(t, rotatorBin, env, cfg)
	waitLog(t, svc, "rotator run started")
	h.service(svc)
	h.events(nss[0], stateNS)
	h.check(map[string]string{
		"GitLab admin token":  rig.GitLabToken,
		"first issued token":  p1,
		"second issued token": p2,
		"first auth":          base64.StdEncoding.EncodeToString([]byte(u1 + ":" + p1)),
		"second auth":         base64.StdEncoding.EncodeToString([]byte(u2 + ":" + p2)),
	})
}

// Vault: the Vault token (given in a file) and the password read from Vault never appear, in
// the commands' output or the service's log.
func TestSecretHygieneVault(t *testing.T) {
	nss := namespaces(t, "hygv", 1)
	tokenFile, token := vaultToken(t, "1h", true, sandbox.VaultPolicy)
	cfg := vaultConfig(t, vaultOpts{name: "hygv", namespaces: nss, auth: "token: {file: " + tokenFile + "}", revokeAfter: "0s"})
	h := &hygiene{t: t}
	h.run(nil, "config", "validate", "--config", cfg)
	if res := h.run(nil, "rotate", "now", "--config", cfg, "-o", "json"); res.Code != 0 {
		t.Fatalf("rotate now with Vault failed (exit %d):\n%s", res.Code, res.Stderr)
	}
	u, p := secretCredential(t, nss[0], "harbor-pull")
	h.run(nil, "status", "--config", cfg)
	// Vault refusing the token (a wrong one in the file): the error says so without the token.
	badFile := writeFile(t, "vault-token-bad", token+"x\n")
	bad := vaultConfig(t, vaultOpts{name: "hygv", namespaces: nss, auth: "token: {file: " + badFile + "}"})
	h.run(nil, "rotate", "now", "--config", bad, "-o", "json")
	svc := startServiceWith(t, rotatorBin, nil, cfg)
	waitLog(t, svc, "rotator run started")
	h.service(svc)
	h.events(nss[0], stateNS)
	h.check(map[string]string{
		"Vault token":           token,
		"Vault root token":      rig.VaultToken,
		"Harbor admin password": rig.HarborPassword,
		"robot secret":          p,
		"auth":                  base64.StdEncoding.EncodeToString([]byte(u + ":" + p)),
	})
}

// A password or token put into a URL of the config (https://user:pass@host) is refused, and
// neither config validate, rotate now, the service's start nor its reload of a changed config
// echoes it.
func TestSecretHygieneURLUserinfo(t *testing.T) {
	nss := namespaces(t, "hygurl", 1)
	const secret = "hunter2-in-a-url"
	good := rotatorConfig(t, cfgOpts{name: "hygurl", namespaces: nss, projects: []string{"proj-a"}})
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	withUserinfo := func(kind, u string) string {
		host := strings.TrimPrefix(u, "https://")
		host = strings.TrimPrefix(host, "http://")
		scheme := strings.TrimSuffix(u, host)
		return strings.Replace(string(b), u, scheme+kind+host, 1)
	}
	h := &hygiene{t: t}
	for _, tc := range []struct{ name, userinfo string }{
		{"user and password", "admin:" + secret + "@"},
		{"token as the user", secret + "@"},
	} {
		text := withUserinfo(tc.userinfo, rig.HarborURL)
		if !strings.Contains(text, tc.userinfo) {
			t.Fatal("the test config does not carry the URL credential")
		}
		cfg := writeFile(t, "config-url.yaml", text)
		res := h.run(nil, "config", "validate", "--config", cfg)
		if res.Code == 0 {
			t.Errorf("%s: config validate accepted a URL with credentials", tc.name)
		}
		h.run(nil, "rotate", "now", "--config", cfg)
		h.run(nil, "run", "--config", cfg, "--listen", "127.0.0.1:0")
	}

	// The service's reload: a running service whose config file changes to one with a URL
	// credential keeps its config and says why, without the credential.
	path := writeFile(t, "config-reload.yaml", string(b))
	svc := startServiceWith(t, rotatorBin, nil, path)
	waitLog(t, svc, "rotator run started")
	if err := os.WriteFile(path, []byte(withUserinfo("admin:"+secret+"@", rig.HarborURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, svc, "config file changed but is invalid")
	h.service(svc)
	h.check(map[string]string{"password in a URL": secret})
	if !strings.Contains(svc.stderr.String(), "without credentials") {
		t.Errorf("the reload log does not say what is wrong with the URL:\n%s", svc.stderr.String())
	}
}

// waitLog waits until the service has logged line.
func waitLog(t *testing.T, svc *service, line string) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("the service logs %q", line), func() (bool, string) {
		return strings.Contains(svc.stderr.String(), line), svc.stderr.String()
	})
}
