//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
)

const gitlabSecret = "gitlab-pull"

// gitlabOpts shape one GitLab credential of a test config.
type gitlabOpts struct {
	name       string
	namespaces []string
	group      string // default group-a, unless project is set
	project    string
	tokenKind  string // default deployToken
	lifetime   string // default 30d
	// revokeAfter defaults to 1h.
	revokeAfter  string
	verifyImages []string
	// tokenEnv names the variable holding the admin token; default GITLAB_TOKEN.
	tokenEnv string
	// policy is restart.policy ("": the default, IfNeeded).
	policy string
}

// gitlabCredential is the YAML list item of one GitLab credential.
func gitlabCredential(o gitlabOpts) string {
	holder := "group: " + o.group
	switch {
	case o.project != "":
		holder = "project: " + o.project
	case o.group == "":
		holder = "group: group-a"
	}
	if o.tokenKind == "" {
		o.tokenKind = "deployToken"
	}
	if o.lifetime == "" {
		o.lifetime = "30d"
	}
	if o.revokeAfter == "" {
		o.revokeAfter = "1h"
	}
	if o.tokenEnv == "" {
		o.tokenEnv = "GITLAB_TOKEN"
	}
	verify := ""
	if o.verifyImages != nil {
		verify = fmt.Sprintf("  verifyImages: [%s]\n", strings.Join(o.verifyImages, ", "))
	}
	return restartPolicy(o.policy, fmt.Sprintf(`- name: %s
  provider: gitlab
  gitlab:
    url: %s
    tokenFrom: {env: %s}
    %s
    tokenKind: %s
  registryHost: %s
  lifetime: %s
  revokeAfter: %s
%s  targets:
    secretName: %s
    namespaces: [%s]
    serviceAccounts: [default]
  restart:
    timeout: 90s
`, o.name, rig.GitLabURL, o.tokenEnv, holder, o.tokenKind, rig.GitLabRegistryHost, o.lifetime, o.revokeAfter, verify,
		gitlabSecret, strings.Join(o.namespaces, ", ")))
}

// gitlabConfig writes a config file holding these credentials (YAML list items).
func gitlabConfig(t *testing.T, credentials ...string) string {
	t.Helper()
	if err := rig.CreateNamespace(context.Background(), stateNS, nil); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "config.yaml", fmt.Sprintf("stateNamespace: %s\ncredentials:\n%s", stateNS, strings.Join(credentials, "")))
}

// gitlabRuns runs the rotator with the GitLab admin token in GITLAB_TOKEN (plus env) and keeps
// every output, so that a test can check at its end that no secret was ever printed.
type gitlabRuns struct {
	t       *testing.T
	outputs []string
}

func (g *gitlabRuns) run(env []string, args ...string) rotateResult {
	g.t.Helper()
	env = append([]string{"GITLAB_TOKEN=" + rig.GitLabToken}, env...)
	res := runRotatorWith(g.t, rotatorBin, env, rig.RotatorKubeconfig, args...)
	if strings.Contains(res.Stdout+res.Stderr, rig.GitLabToken) {
		g.t.Fatal("the GitLab admin token appeared in the rotator's output")
	}
	g.outputs = append(g.outputs, res.Stdout, res.Stderr)
	return res
}

// noSecrets fails the test if any output so far holds one of the values.
func (g *gitlabRuns) noSecrets(values ...string) {
	g.t.Helper()
	for _, v := range values {
		for _, out := range g.outputs {
			if v != "" && strings.Contains(out, v) {
				g.t.Fatalf("an issued token appeared in the rotator's output")
			}
		}
	}
}

// gitlabSecretCredential returns the username and password a secret holds for GitLab's
// registry, checking that it is a dockerconfigjson Secret whose only auths key is that host.
func gitlabSecretCredential(t *testing.T, ns, name string) (string, string) {
	t.Helper()
	s, err := rig.Admin.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("secret %s/%s has type %s", ns, name, s.Type)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string }
	}
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.Fatal(err)
	}
	e, ok := cfg.Auths[rig.GitLabRegistryHost]
	if !ok || len(cfg.Auths) != 1 {
		t.Fatalf("secret %s/%s: auths keys %v, want only %s", ns, name, keysOf(cfg.Auths), rig.GitLabRegistryHost)
	}
	return e.Username, e.Password
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// deployTokensNamed returns the GitLab double's deploy tokens whose name starts with prefix.
func deployTokensNamed(prefix string) []gitlabdouble.DeployToken {
	var out []gitlabdouble.DeployToken
	for _, t := range rig.GitLab.DeployTokens() {
		if strings.HasPrefix(t.Name, prefix) {
			out = append(out, t)
		}
	}
	return out
}

// gitlabRequestsSince returns the double's requests after the first n.
func gitlabRequestsSince(n int) []gitlabdouble.Request {
	all := rig.GitLab.Requests()
	if n > len(all) {
		return nil
	}
	return all[n:]
}

// gitlabChanges lists the API requests among reqs that could change GitLab, and fails the test
// if any called the rotate endpoint, which revokes the old token at once.
func gitlabChanges(t *testing.T, reqs []gitlabdouble.Request) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		if strings.Contains(r.EscapedPath, "/rotate") {
			t.Fatalf("the rotator called GitLab's rotate endpoint: %s %s", r.Method, r.EscapedPath)
		}
		if r.Method != "GET" && strings.HasPrefix(r.EscapedPath, "/api/") {
			out = append(out, r.Method+" "+r.EscapedPath)
		}
	}
	return out
}

// statefulSetReady waits for a one-replica StatefulSet to be ready on its current revision.
func statefulSetReady(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 90*time.Second, "statefulset "+ns+"/"+name+" ready", func() (bool, string) {
		s, err := rig.Admin.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return s.Status.ReadyReplicas == 1 && s.Status.UpdateRevision == s.Status.CurrentRevision, fmt.Sprintf("%+v", s.Status)
	})
}

// allErrors joins a run's report errors, or its stderr when there is no report.
func allErrors(res rotateResult) string {
	var out []string
	for _, r := range res.Reports {
		out = append(out, r.Errors...)
	}
	if len(out) == 0 {
		return res.Stderr
	}
	return strings.Join(out, "\n")
}
