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
export ROTATOR_DOCTOR_KUBECONFIG=%s
export HARBOR_URL=%s
export HARBOR_USERNAME=%s
export HARBOR_PASSWORD=%s
export REGISTRY_HOST=%s
export SANDBOX_IMAGES="%s"
export VAULT_ADDR=%s
export VAULT_TOKEN=%s
# kubectl: the machine's, else the pinned one 'make tools' built into the tools cache.
export PATH="$PATH:%s"
`, abs, r.AdminKubeconfig, r.RotatorKubeconfig, r.DoctorKubeconfig, r.HarborURL, r.HarborUsername, r.HarborPassword, r.RegistryHost, strings.Join(images, " "),
		r.VaultAddr, r.VaultToken, ToolsDir())
	env += gitLabEnv(r)
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(env), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(DemoConfig(r)), 0o600)
}

// DemoConfig is a rotator configuration for the demo workloads of this sandbox.
func DemoConfig(r *Rig) string {
	return fmt.Sprintf(`# rotator configuration for the local sandbox (written by rotator-sandbox).
stateNamespace: %s
# The Harbor password is read from the sandbox's Vault at every run; the rotator logs in with
# its AppRole (least privilege: read below secret/rotator/, write below secret/rotator/pull/).
vault:
  address: %s
  auth:
    appRole: {roleId: %s, secretIdFile: %s}
credentials:
- name: harbor-sandbox
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom:
      vault: {mount: %s, path: %s, key: password}
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
  # Each issued robot is also written to Vault, for CI jobs that pull outside the cluster.
  writeBack: {mount: %s, path: %sharbor-sandbox}
`, DemoStateNamespace, r.VaultAddr, r.VaultRoleID, r.VaultSecretIDFile, r.HarborURL, r.HarborUsername, VaultKVMount, VaultHarborPath, r.Images["proj-a"], r.Images["proj-b"], DemoSecretName, strings.Join(DemoNamespaces, ", "),
		VaultKVMount, VaultWriteBackPrefix) + gitLabDemoCredential(r)
}
