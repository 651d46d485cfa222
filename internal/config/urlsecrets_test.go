package config

import (
	"strings"
	"testing"
)

// Credentials put into a URL (a password, or a token given as the user name) are refused with
// an error that names the field and never the credentials: the error is printed by `config
// validate` and logged by `rotator run` when a reloaded config is refused.
func TestCredentialsInURLsAreRefusedAndNeverEchoed(t *testing.T) {
	for _, tc := range []struct{ name, yaml, path string }{
		{"harbor password", `
credentials:
- name: h
  provider: harbor
  harbor: {url: "https://admin:Harbor-Pa55-in-url@harbor.example.com", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`, "credentials[0].harbor.url"},
		{"gitlab token as user name", `
credentials:
- name: g
  provider: gitlab
  gitlab: {url: "https://glpat-Token-in-url-0123@gitlab.example.com", tokenFrom: {env: T}, project: g/p}
  targets: {secretName: pull, namespaces: [a]}
`, "credentials[0].gitlab.url"},
		{"gitlab token as password", `
credentials:
- name: g
  provider: gitlab
  gitlab: {url: "https://oauth2:glpat-Token-in-url-0123@gitlab.example.com", tokenFrom: {env: T}, project: g/p}
  targets: {secretName: pull, namespaces: [a]}
`, "credentials[0].gitlab.url"},
		{"vault token", `
vault: {address: "https://s.VaultToken-in-url@vault.example.com:8200", auth: {token: {env: VAULT_TOKEN}}}
credentials:
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`, "vault.address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "c.yaml")
			if err == nil {
				t.Fatal("a URL holding credentials was accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.path) || !strings.Contains(msg, "without credentials") {
				t.Errorf("the error must name %s and say why: %s", tc.path, msg)
			}
			for _, secret := range []string{"Harbor-Pa55-in-url", "glpat-Token-in-url-0123", "s.VaultToken-in-url", "admin:"} {
				if strings.Contains(msg, secret) {
					t.Errorf("the error echoes the credential %q: %s", secret, msg)
				}
			}
		})
	}
}
