//go:build integration

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
)

// rotate now for a GitLab group credential: a read_registry deploy token of the group, verified
// with a pull through /jwt/auth, written into every target namespace under the registry host
// (not the GitLab host), dependent workloads rolled out and Available through real pulls of two
// projects of the group; the next rotation keeps the previous token through the grace period,
// then revokes it, and the revoked token can no longer pull.
func TestGitLabGroupRotateNowEndToEnd(t *testing.T) {
	ctx := context.Background()
	g := &gitlabRuns{t: t}
	nss := namespaces(t, "gl-e2e", 2)
	app, api := rig.GitLabImages["group-a/app"], rig.GitLabImages["group-a/api"]
	for _, o := range []any{
		sandbox.Deployment(nss[0], "web", app, gitlabSecret, 2), // names the secret
		sandbox.Deployment(nss[1], "api", api, "", 1),           // through ServiceAccount default
		sandbox.StatefulSet(nss[1], "db", app, ""),              // through ServiceAccount default
	} {
		if err := rig.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// Before: no credential, the pull fails with the registry's 401.
	if _, event := pullFailure(t, nss[0], "web"); !strings.Contains(event, "401") && !strings.Contains(strings.ToLower(event), "unauthorized") {
		t.Fatalf("before the rotation the pull must fail with 401: %q", event)
	}

	// Policy Always: the test asserts every dependent is restarted.
	cfg := gitlabConfig(t, gitlabCredential(gitlabOpts{name: "gl-e2e", namespaces: nss, group: "group-a", revokeAfter: "4s", policy: "Always"}))
	mark := len(rig.GitLab.Requests())
	res := g.run(nil, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("rotate now failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	rep := res.Reports[0]
	first := rep.Issued
	if first == nil || rep.Provider != "gitlab" || rep.Registry != rig.GitLabRegistryHost {
		t.Fatalf("report %+v", rep)
	}

	// The token: a group deploy token with read_registry only, expiring at 00:00 UTC of a date
	// at least 30 days ahead, as the report says.
	toks := deployTokensNamed("rotator-gl-e2e-")
	if len(toks) != 1 {
		t.Fatalf("want exactly one deploy token, got %+v", toks)
	}
	tok := toks[0]
	if tok.HolderKind != "group" || tok.Holder != "group-a" || !slices.Equal(tok.Scopes, []string{"read_registry"}) || tok.ExpiresAt == nil {
		t.Fatalf("deploy token %+v", tok)
	}
	if exp := tok.ExpiresAt.UTC(); exp.Hour() != 0 || exp.Minute() != 0 || !exp.Equal(first.ExpiresAt) ||
		exp.Before(time.Now().Add(30*24*time.Hour)) || exp.After(time.Now().Add(31*24*time.Hour)) {
		t.Fatalf("expiry %v (report %v)", tok.ExpiresAt, first.ExpiresAt)
	}
	reqs := gitlabRequestsSince(mark)
	if ch := gitlabChanges(t, reqs); len(ch) != 1 || ch[0] != "POST /api/v4/groups/group-a/deploy_tokens" {
		t.Fatalf("GitLab changes %v", ch)
	}
	// Verified through the registry's token realm with the new token's own user name.
	verifiedViaJWT := false
	for _, r := range reqs {
		verifiedViaJWT = verifiedViaJWT || (r.EscapedPath == "/jwt/auth" && r.User == tok.Username && r.Query.Get("service") == "container_registry")
	}
	if !verifiedViaJWT || len(rep.Verified) == 0 {
		t.Fatalf("the new token was not verified through /jwt/auth (verified %v)", rep.Verified)
	}

	// Secrets: the registry host as the only key, the deploy token's username, a working token.
	var values []string
	for _, ns := range nss {
		u, p := gitlabSecretCredential(t, ns, gitlabSecret)
		if u != tok.Username {
			t.Fatalf("secret %s username %q, want %q", ns, u, tok.Username)
		}
		for _, img := range []string{app, api} {
			if err := pull(img, u, p); err != nil {
				t.Fatalf("the written credential does not pull %s: %v", img, err)
			}
		}
		values = append(values, p)
	}
	// Workloads rolled out and Available through real pulls.
	waitAvailable(t, nss[0], "web")
	waitAvailable(t, nss[1], "api")
	statefulSetReady(t, nss[1], "db")
	restarted := map[string]bool{}
	for _, w := range rep.Workloads {
		restarted[w.Namespace+"/"+w.Name] = w.Action == "restarted"
	}
	for _, w := range []string{nss[0] + "/web", nss[1] + "/api", nss[1] + "/db"} {
		if !restarted[w] {
			t.Errorf("workload %s not restarted: %+v", w, rep.Workloads)
		}
	}

	// A second rotation: a new token; the first keeps pulling through its grace period.
	firstUser, firstPass := gitlabSecretCredential(t, nss[0], gitlabSecret)
	res = g.run(nil, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || res.Reports[0].Issued == nil || res.Reports[0].Issued.ID == first.ID {
		t.Fatalf("second rotation (exit %d): %+v\n%s", res.Code, res.Reports, res.Stderr)
	}
	second := res.Reports[0].Issued
	if err := pull(app, firstUser, firstPass); err != nil {
		t.Fatalf("the previous token must keep pulling during its grace period: %v", err)
	}
	time.Sleep(4 * time.Second)
	mark = len(rig.GitLab.Requests())
	res = g.run(nil, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("if-due run failed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	if rv := res.Reports[0].Revoked; len(rv) != 1 || rv[0].ID != first.ID {
		t.Fatalf("want the first token revoked after the grace period, got %+v", rv)
	}
	want := "DELETE /api/v4/groups/group-a/deploy_tokens/" + first.ID
	if ch := gitlabChanges(t, gitlabRequestsSince(mark)); !slices.Contains(ch, want) {
		t.Fatalf("GitLab changes %v, want %s", ch, want)
	}
	if err := pull(app, firstUser, firstPass); err == nil {
		t.Fatal("the revoked token can still pull")
	}
	if toks := deployTokensNamed("rotator-gl-e2e-"); len(toks) != 1 || fmt.Sprint(toks[0].ID) != second.ID {
		t.Fatalf("want only the current token %s left, got %+v", second.ID, toks)
	}
	u, p := gitlabSecretCredential(t, nss[1], gitlabSecret)
	if err := pull(api, u, p); err != nil {
		t.Fatalf("the current token does not pull: %v", err)
	}
	g.noSecrets(append(values, firstPass, p)...)
}

// A Harbor and a GitLab credential in one config rotate in one run; each writes its own
// registry host; one namespace holds both secrets (and its ServiceAccount both bindings), and a
// pod pulling from both registries, each image with its own secret, that could not start before
// the run becomes Available in that same run.
func TestGitLabAndHarborInOneRun(t *testing.T) {
	ctx := context.Background()
	g := &gitlabRuns{t: t}
	nss := namespaces(t, "gl-mix", 2)
	harborImg, gitlabImg := rig.Images["proj-a"], rig.GitLabImages["group-a/app"]
	for _, o := range []any{
		sandbox.Deployment(nss[0], "harbor-web", harborImg, "harbor-pull", 1),
		sandbox.Deployment(nss[0], "gitlab-web", gitlabImg, gitlabSecret, 1),
		sandbox.Deployment(nss[1], "gitlab-only", rig.GitLabImages["group-a/api"], "", 1), // via ServiceAccount
		bothRegistries(nss[0], harborImg, gitlabImg),
	} {
		if err := rig.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	harborCred := fmt.Sprintf(`- name: gl-mix-harbor
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [proj-a]
  revokeAfter: 1h
  targets:
    secretName: harbor-pull
    namespaces: [%s]
    serviceAccounts: [default]
  restart:
    timeout: 90s
`, rig.HarborURL, rig.HarborUsername, nss[0])
	cfg := gitlabConfig(t, harborCred, gitlabCredential(gitlabOpts{name: "gl-mix", namespaces: nss, group: "group-a"}))
	res := g.run(nil, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || !res.OK || len(res.Reports) != 2 {
		t.Fatalf("one run for both (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	registries := map[string]string{}
	for _, r := range res.Reports {
		if r.Result != "succeeded" || r.Issued == nil {
			t.Fatalf("report %+v", r)
		}
		registries[r.Provider] = r.Registry
	}
	if registries["harbor"] != rig.RegistryHost || registries["gitlab"] != rig.GitLabRegistryHost || rig.RegistryHost == rig.GitLabRegistryHost {
		t.Fatalf("registries %v", registries)
	}

	// nss[0] holds both secrets, each keyed by its own registry host only.
	hu, hp := secretCredential(t, nss[0], "harbor-pull")
	if s, _ := rig.Admin.CoreV1().Secrets(nss[0]).Get(ctx, "harbor-pull", metav1.GetOptions{}); strings.Contains(string(s.Data[corev1.DockerConfigJsonKey]), rig.GitLabRegistryHost) {
		t.Fatal("the Harbor secret carries the GitLab registry host")
	}
	gu, gp := gitlabSecretCredential(t, nss[0], gitlabSecret)
	if err := pull(harborImg, hu, hp); err != nil {
		t.Fatalf("harbor secret: %v", err)
	}
	if err := pull(gitlabImg, gu, gp); err != nil {
		t.Fatalf("gitlab secret: %v", err)
	}
	if err := pull(gitlabImg, hu, hp); err == nil {
		t.Fatal("the Harbor robot pulls from GitLab's registry")
	}
	sa, err := rig.Admin.CoreV1().ServiceAccounts(nss[0]).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bound []string
	for _, ref := range sa.ImagePullSecrets {
		bound = append(bound, ref.Name)
	}
	slices.Sort(bound)
	if !slices.Equal(bound, []string{gitlabSecret, "harbor-pull"}) {
		t.Fatalf("serviceaccount %s/default imagePullSecrets %v", nss[0], bound)
	}
	waitAvailable(t, nss[0], "harbor-web")
	waitAvailable(t, nss[0], "gitlab-web")
	waitAvailable(t, nss[1], "gitlab-only")
	// The pod that pulls from both registries could only roll out once both secrets existed:
	// every secret is written before any restart (rotation.Runner.RotateAll).
	waitAvailable(t, nss[0], "both")
	g.noSecrets(hp, gp)
}

// bothRegistries is a Deployment whose pod pulls one image from each registry, each with its own
// secret as kubelet picks it.
func bothRegistries(ns, harborImg, gitlabImg string) *appsv1.Deployment {
	d := sandbox.Deployment(ns, "both", harborImg, "harbor-pull", 1)
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "gitlab", Image: gitlabImg})
	d.Spec.Template.Spec.ImagePullSecrets = append(d.Spec.Template.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: gitlabSecret})
	return d
}

// GitLab project access tokens, the option: read_registry with the Reporter role, a date
// expiry, any user name at the registry; the previous token is revoked (GitLab keeps it listed,
// revoked) and can no longer pull.
func TestGitLabProjectAccessTokenRotation(t *testing.T) {
	g := &gitlabRuns{t: t}
	ns := namespaces(t, "gl-pat", 1)[0]
	app := rig.GitLabImages["group-a/app"]
	if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", app, gitlabSecret, 1)); err != nil {
		t.Fatal(err)
	}
	cfg := gitlabConfig(t, gitlabCredential(gitlabOpts{name: "gl-pat", namespaces: []string{ns}, project: "group-a/app",
		tokenKind: "projectAccessToken", revokeAfter: "0s"}))
	res := g.run(nil, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("rotate now failed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	first := res.Reports[0].Issued
	u1, p1 := gitlabSecretCredential(t, ns, gitlabSecret)
	if u1 != first.Name || !strings.HasPrefix(p1, "glpat-") {
		t.Fatalf("access token login %q (token %q)", u1, first.Name)
	}
	found := false
	for _, at := range rig.GitLab.AccessTokens() {
		if fmt.Sprint(at.ID) == first.ID {
			found = true
			if at.HolderKind != "project" || at.Holder != "group-a/app" || at.AccessLevel != gitlabdouble.Reporter ||
				!slices.Equal(at.Scopes, []string{"read_registry"}) || at.ExpiresAt.Hour() != 0 {
				t.Fatalf("access token %+v", at)
			}
		}
	}
	if !found {
		t.Fatalf("no access token %s at GitLab", first.ID)
	}
	waitAvailable(t, ns, "web")

	res = g.run(nil, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || len(res.Reports[0].Revoked) != 1 || res.Reports[0].Revoked[0].ID != first.ID {
		t.Fatalf("second rotation must revoke the first token at once (revokeAfter 0s): %+v\n%s", res.Reports, res.Stderr)
	}
	if err := pull(app, u1, p1); err == nil {
		t.Fatal("the revoked access token can still pull")
	}
	u2, p2 := gitlabSecretCredential(t, ns, gitlabSecret)
	if err := pull(app, u2, p2); err != nil {
		t.Fatalf("the current access token does not pull: %v", err)
	}
	waitAvailable(t, ns, "web")
	// A run with nothing due changes nothing at GitLab: the revoked token, still listed, is
	// not taken for an orphan.
	mark := len(rig.GitLab.Requests())
	res = g.run(nil, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 || res.Reports[0].Result != "nothing-due" {
		t.Fatalf("want nothing-due, got %+v\n%s", res.Reports, res.Stderr)
	}
	if ch := gitlabChanges(t, gitlabRequestsSince(mark)); len(ch) != 0 {
		t.Fatalf("a run with nothing due changed GitLab: %v", ch)
	}
	g.noSecrets(p1, p2)
}

// The sandbox's own config, what `make demo` runs, rotates its Harbor and its GitLab credential
// in one run: team-a ends up holding both secrets, and the GitLab workloads become Available.
func TestGitLabDemoConfigRotatesBothProviders(t *testing.T) {
	ctx := context.Background()
	g := &gitlabRuns{t: t}
	if err := sandbox.SeedDemo(ctx, rig); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "config.yaml", sandbox.DemoConfig(rig))
	res := g.run(nil, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || len(res.Reports) != 2 {
		t.Fatalf("the demo config must rotate both credentials (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	providersRun := map[string]string{}
	for _, r := range res.Reports {
		providersRun[r.Provider] = string(r.Result)
	}
	if providersRun["harbor"] != "succeeded" || providersRun["gitlab"] != "succeeded" {
		t.Fatalf("results %v", providersRun)
	}
	secretCredential(t, "team-a", sandbox.DemoSecretName)
	gu, gp := gitlabSecretCredential(t, "team-a", sandbox.DemoGitLabSecretName)
	if err := pull(rig.GitLabImages["group-a/api"], gu, gp); err != nil {
		t.Fatal(err)
	}
	for _, w := range [][2]string{{"team-a", "reports"}, {sandbox.DemoGitLabNamespace, "shop"}, {sandbox.DemoGitLabNamespace, "shop-api"}} {
		waitAvailable(t, w[0], w[1])
	}
	g.noSecrets(gp)
}
