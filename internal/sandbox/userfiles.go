package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// WriteUserFiles writes dir/env (shell-sourceable) and dir/config.yaml (a working rotator
// configuration for this sandbox).
func WriteUserFiles(r *Rig, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var images []string
	for _, img := range r.Images {
		images = append(images, img)
	}
	sort.Strings(images)
	env := fmt.Sprintf(`# Source this file: . %s/env
export KUBECONFIG=%s
export ROTATOR_KUBECONFIG=%s
export HARBOR_URL=%s
export HARBOR_USERNAME=%s
export HARBOR_PASSWORD=%s
export REGISTRY_HOST=%s
export SANDBOX_IMAGES="%s"
`, abs, r.AdminKubeconfig, r.RotatorKubeconfig, r.HarborURL, r.HarborUsername, r.HarborPassword, r.RegistryHost, strings.Join(images, " "))
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(env), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(DemoConfig(r)), 0o600)
}

// DemoConfig is a rotator configuration for the demo workloads of this sandbox.
func DemoConfig(r *Rig) string {
	return fmt.Sprintf(`# rotator configuration for the local sandbox (written by rotator-sandbox).
stateNamespace: %s
credentials:
- name: harbor-sandbox
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [proj-a, proj-b]
  lifetime: 30d
  # The demo revokes the previous robot on the next run; production wants hours.
  revokeAfter: 0s
  verifyImages: [%s, %s]
  targets:
    secretName: %s
    namespaces: [%s]
    serviceAccounts: [default]
  restart:
    timeout: 2m
`, DemoStateNamespace, r.HarborURL, r.HarborUsername, r.Images["proj-a"], r.Images["proj-b"], DemoSecretName, strings.Join(DemoNamespaces, ", "))
}
