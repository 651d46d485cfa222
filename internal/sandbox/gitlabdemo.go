package sandbox

import (
	"context"
	"fmt"
	"strings"
)

// The demo's GitLab part: the credential writes DemoGitLabSecretName into team-a (which then
// holds the Harbor and the GitLab secret side by side) and DemoGitLabNamespace.
const (
	DemoGitLabSecretName = "gitlab-pull"
	DemoGitLabNamespace  = "team-d"
)

// DemoGitLabNamespaces are the target namespaces of the demo's GitLab credential.
var DemoGitLabNamespaces = []string{"team-a", DemoGitLabNamespace}

// seedGitLabDemo adds workloads that pull from the GitLab group: one through the ServiceAccount,
// two naming the GitLab secret (one of them in team-a, next to the Harbor workloads).
func seedGitLabDemo(ctx context.Context, r *Rig) error {
	app, api := r.GitLabImages["group-a/app"], r.GitLabImages["group-a/api"]
	if app == "" || api == "" {
		return fmt.Errorf("sandbox: demo needs GitLab projects group-a/app and group-a/api")
	}
	if err := r.CreateNamespace(ctx, DemoGitLabNamespace, nil); err != nil {
		return err
	}
	for _, o := range []any{
		Deployment(DemoGitLabNamespace, "shop", app, "", 1),
		Deployment(DemoGitLabNamespace, "shop-api", api, DemoGitLabSecretName, 1),
		Deployment("team-a", "reports", api, DemoGitLabSecretName, 1),
	} {
		if err := r.Apply(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// gitLabEnv is the GitLab part of dir/env.
func gitLabEnv(r *Rig) string {
	var images []string
	for _, p := range GitLabProjects {
		images = append(images, r.GitLabImages[p])
	}
	return fmt.Sprintf(`export GITLAB_URL=%s
export GITLAB_TOKEN=%s
export GITLAB_REGISTRY_HOST=%s
export GITLAB_IMAGES="%s"
`, r.GitLabURL, r.GitLabToken, r.GitLabRegistryHost, strings.Join(images, " "))
}

// gitLabDemoCredential is the demo config's GitLab credential: a deploy token of the group,
// whose registry host is not the GitLab host.
func gitLabDemoCredential(r *Rig) string {
	return fmt.Sprintf(`# A read_registry deploy token of the GitLab group %[1]s. GitLab's registry (%[3]s) is not the
# GitLab host (%[2]s): registryHost is required. The admin token is read from GITLAB_TOKEN.
- name: gitlab-sandbox
  provider: gitlab
  gitlab:
    url: %[2]s
    tokenFrom: {env: GITLAB_TOKEN}
    group: %[1]s
  registryHost: %[3]s
  lifetime: 30d
  revokeAfter: 0s
  verifyImages: [%[4]s, %[5]s]
  targets:
    secretName: %[6]s
    namespaces: [%[7]s]
    serviceAccounts: [default]
  restart:
    timeout: 2m
`, GitLabGroup, r.GitLabURL, r.GitLabRegistryHost, r.GitLabImages["group-a/app"], r.GitLabImages["group-a/api"],
		DemoGitLabSecretName, strings.Join(DemoGitLabNamespaces, ", "))
}
