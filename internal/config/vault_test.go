package config

import (
	"errors"
	"strings"
	"testing"
)

const vaultCredential = `
credentials:
- name: h
  provider: harbor
  harbor:
    url: https://harbor.example.com
    username: admin
    passwordFrom: %s
    projects: [p]
  targets: {secretName: pull, namespaces: [a]}
`

func parseWith(t *testing.T, top, passwordFrom, extra string) error {
	t.Helper()
	_, err := Parse([]byte(top+strings.Replace(vaultCredential, "%s", passwordFrom, 1)+extra), "vault.yaml")
	return err
}

func TestVaultConfigLoadsWithDefaults(t *testing.T) {
	c, err := Parse([]byte(`
vault:
  address: https://vault.example.com:8200
  namespace: team-a
  auth:
    kubernetes: {role: rotator}
`+strings.Replace(vaultCredential, "%s", "{vault: {path: secret/data/rotator/harbor, key: password, version: 3}}", 1)+`
  writeBack: {mount: secret, path: rotator/pull/h}
`), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k := c.Vault.Auth.Kubernetes
	if k.Mount != "kubernetes" || k.TokenFile != DefaultKubernetesTokenFile {
		t.Fatalf("kubernetes auth defaults: %+v", k)
	}
	ref := c.Credentials[0].Harbor.PasswordFrom.Vault
	if ref == nil || ref.Path != "secret/data/rotator/harbor" || ref.Key != "password" || ref.Version != 3 {
		t.Fatalf("vault ref: %+v", ref)
	}
	if wb := c.Credentials[0].WriteBack; wb == nil || wb.Mount != "secret" || wb.Path != "rotator/pull/h" {
		t.Fatalf("writeBack: %+v", wb)
	}

	c, err = Parse([]byte("vault: {address: http://127.0.0.1:8200, auth: {token: {}}}\n"+strings.Replace(vaultCredential, "%s", "{env: P}", 1)), "token.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Vault.Auth.Token.Env != "VAULT_TOKEN" {
		t.Fatalf("token auth must default to VAULT_TOKEN: %+v", c.Vault.Auth.Token)
	}
}

// Every Vault problem is reported at once, with its path.
func TestVaultConfigProblemsHaveTheirPaths(t *testing.T) {
	cases := []struct {
		name, top, ref, extra string
		want                  []string
	}{
		{"vault ref without vault section", "", "{vault: {path: secret/data/x, key: password}}", "",
			[]string{"vault: Required value: needed by credentials[0].harbor.passwordFrom.vault"}},
		{"write-back without vault section", "", "{env: P}", "  writeBack: {path: secret/data/x}\n",
			[]string{"vault: Required value: needed by credentials[0].writeBack"}},
		{"two sources", "vault: {address: https://v, auth: {token: {}}}\n", "{env: P, vault: {path: secret/data/x, key: k}}", "",
			[]string{"credentials[0].harbor.passwordFrom: Invalid value", "set only one of env, file or vault"}},
		{"ref without key and path", "vault: {address: https://v, auth: {token: {}}}\n", "{vault: {version: -1}}", "",
			[]string{"credentials[0].harbor.passwordFrom.vault.path: Required value", "credentials[0].harbor.passwordFrom.vault.key: Required value",
				"credentials[0].harbor.passwordFrom.vault.version: Invalid value"}},
		{"path without mount", "vault: {address: https://v, auth: {token: {}}}\n", "{vault: {path: harbor, key: k}}", "",
			[]string{"credentials[0].harbor.passwordFrom.vault.path: Invalid value", "name the mount too"}},
		{"bad write-back path", "vault: {address: https://v, auth: {token: {}}}\n", "{env: P}", "  writeBack: {path: /secret/x/}\n",
			[]string{"credentials[0].writeBack.path: Invalid value"}},
		{"vault section problems", "vault: {address: 'ftp://u:hunter2@v', auth: {token: {env: A, file: /f}, appRole: {}}}\n", "{env: P}", "",
			[]string{"vault.address: Invalid value", "vault.auth: Invalid value", "vault.auth.token: Invalid value",
				"vault.auth.appRole.roleId: Required value", "vault.auth.appRole.secretIdFile: Required value"}},
		{"no auth method", "vault: {address: https://v, auth: {kubernetes: {}}}\n", "{env: P}", "",
			[]string{"vault.auth.kubernetes.role: Required value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := parseWith(t, tc.top, tc.ref, tc.extra)
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("want *InvalidError, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if len(inv.Errs) != len(tc.want) && tc.name != "two sources" && tc.name != "path without mount" {
				t.Errorf("got %d problems, want %d:\n%v", len(inv.Errs), len(tc.want), err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("a password in vault.address must not be echoed: %v", err)
			}
		})
	}
}
