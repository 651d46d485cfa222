//go:build integration

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
)

// Each fault GitLab can throw at a rotation ends with a clear error (exit 1) and nothing lost:
// every target keeps its secret, the old token keeps pulling, the workloads stay Available, and
// no new token is left behind. Transient faults (one 429, two 5xx on a read) are waited out.
func TestGitLabFaultsKeepTheOldCredential(t *testing.T) {
	ctx := context.Background()
	g := &gitlabRuns{t: t}
	nss := namespaces(t, "gl-fault", 2)
	app := rig.GitLabImages["group-a/app"]
	for _, ns := range nss {
		if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", app, gitlabSecret, 1)); err != nil {
			t.Fatal(err)
		}
	}
	base := gitlabOpts{name: "gl-fault", namespaces: nss, group: "group-a"}
	cfg := gitlabConfig(t, gitlabCredential(base))
	if res := g.run(nil, "rotate", "now", "--config", cfg); res.Code != 0 {
		t.Fatalf("first rotation failed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	for _, ns := range nss {
		waitAvailable(t, ns, "web")
	}
	// A Developer of the group: may pull, may not create deploy tokens.
	devToken := "glpat-dev-" + time.Now().Format("150405.000")
	if err := rig.GitLab.AddUser(gitlabdouble.User{Username: "gl-fault-dev", Token: devToken,
		Roles: map[string]int{"group-a": gitlabdouble.Developer}}); err != nil {
		t.Fatal(err)
	}
	posts := "/api/v4/groups/group-a/deploy_tokens"

	cases := []struct {
		name string
		// setup injects the fault and returns the config to run; cleanup is registered by it.
		setup func(t *testing.T) string
		env   []string
		want  []string // in the run's errors
		// ok: the fault is transient and the rotation must succeed despite it.
		ok bool
	}{
		{
			name: "admin token without permission (403)", env: []string{"GITLAB_DEV_TOKEN=" + devToken},
			setup: func(t *testing.T) string {
				o := base
				o.tokenEnv = "GITLAB_DEV_TOKEN"
				return gitlabConfig(t, gitlabCredential(o))
			},
			want: []string{"403 Forbidden", "Owner role in group \"group-a\""},
		},
		{
			name: "unknown group (404)",
			setup: func(t *testing.T) string {
				o := base
				o.group = "group-a/missing"
				return gitlabConfig(t, gitlabCredential(o))
			},
			want: []string{"/api/v4/groups/group-a%2Fmissing/deploy_tokens", "404 Group Not Found", "check gitlab.group"},
		},
		{
			name: "expiry beyond the instance limit (400)",
			setup: func(t *testing.T) string {
				rig.GitLab.SetMaxTokenLifetimeDays(10)
				t.Cleanup(func() { rig.GitLab.SetMaxTokenLifetimeDays(gitlabdouble.DefaultMaxTokenLifetimeDays) })
				o := base
				o.tokenKind = "groupAccessToken"
				return gitlabConfig(t, gitlabCredential(o))
			},
			want: []string{"Expiration date must be before", "lower credentials[].lifetime"},
		},
		{
			name: "rate limited (429) for longer than the rotator waits",
			setup: func(t *testing.T) string {
				rig.GitLab.Inject(gitlabdouble.Fault{Method: "POST", PathPrefix: posts, Status: 429, Times: 10})
				return cfg
			},
			want: []string{"429", "rate-limiting", "gave up after 4 attempts"},
		},
		{
			name: "server error (5xx) on create, not retried",
			setup: func(t *testing.T) string {
				rig.GitLab.FailNext("POST", posts, 503, 10)
				return cfg
			},
			want: []string{"503", "may have created token"},
		},
		{
			name: "registry refuses the new token",
			setup: func(t *testing.T) string {
				rig.GitLab.SetRegistryRefusesNewTokens(true)
				t.Cleanup(func() { rig.GitLab.SetRegistryRefusesNewTokens(false) })
				return cfg
			},
			want: []string{"verify the new credential", app, "nothing was written"},
		},
		{
			name: "one 429 with Retry-After is waited out", ok: true,
			setup: func(t *testing.T) string {
				rig.GitLab.Inject(gitlabdouble.Fault{Method: "POST", PathPrefix: posts, Status: 429, RetryAfter: "2"})
				return cfg
			},
		},
		{
			name: "two 5xx on a read are retried", ok: true,
			setup: func(t *testing.T) string {
				// Whichever read comes first fails twice: the list (when an earlier run left an
				// issuing mark) or the read before revoking the previous token (revokeAfter 0s).
				rig.GitLab.FailNext("GET", posts, 502, 2)
				o := base
				o.revokeAfter = "0s"
				return gitlabConfig(t, gitlabCredential(o))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(rig.GitLab.ClearFaults)
			before := map[string][2]string{}
			for _, ns := range nss {
				u, p := gitlabSecretCredential(t, ns, gitlabSecret)
				before[ns] = [2]string{u, p}
			}
			tokensBefore := len(deployTokensNamed("rotator-gl-fault-")) + len(activeAccessTokens("rotator-gl-fault-"))
			runCfg := c.setup(t)
			t0 := time.Now()
			res := g.run(c.env, "rotate", "now", "--config", runCfg, "-o", "json")
			if c.ok {
				if res.Code != 0 {
					t.Fatalf("a transient fault must be waited out (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
				}
				if strings.Contains(c.name, "Retry-After") && time.Since(t0) < 2*time.Second {
					t.Fatalf("the run took %s: Retry-After 2 was not honoured", time.Since(t0))
				}
				for _, ns := range nss {
					u, p := gitlabSecretCredential(t, ns, gitlabSecret)
					if err := pull(app, u, p); err != nil {
						t.Fatalf("%s: the new credential does not pull: %v", ns, err)
					}
					waitAvailable(t, ns, "web")
				}
				return
			}
			if res.Code != 1 {
				t.Fatalf("want exit 1, got %d:\n%s\n%s", res.Code, res.Stdout, res.Stderr)
			}
			msg := allErrors(res)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in the error:\n%s", w, msg)
				}
			}
			// Nothing lost: same secret everywhere, and it still pulls; no new token left over.
			for _, ns := range nss {
				u, p := gitlabSecretCredential(t, ns, gitlabSecret)
				if [2]string{u, p} != before[ns] {
					t.Fatalf("%s: the secret changed in a failed run", ns)
				}
				if err := pull(app, u, p); err != nil {
					t.Fatalf("%s: the old credential no longer pulls: %v", ns, err)
				}
				if ok, msg := deploymentAvailable(ns, "web"); !ok {
					t.Fatalf("the workload is not Available: %s", msg)
				}
			}
			if n := len(deployTokensNamed("rotator-gl-fault-")) + len(activeAccessTokens("rotator-gl-fault-")); n != tokensBefore {
				t.Fatalf("tokens before %d, after %d: the failed run left a token behind", tokensBefore, n)
			}
			g.noSecrets(before[nss[0]][1])
		})
	}
}

// activeAccessTokens are the double's unrevoked access tokens whose name starts with prefix.
func activeAccessTokens(prefix string) []gitlabdouble.AccessToken {
	var out []gitlabdouble.AccessToken
	for _, t := range rig.GitLab.AccessTokens() {
		if strings.HasPrefix(t.Name, prefix) && !t.Revoked {
			out = append(out, t)
		}
	}
	return out
}
