//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// vaultOpts is a rotator config that reads the Harbor password from Vault.
type vaultOpts struct {
	name       string
	namespaces []string
	// address of Vault (default: the rig's); auth is the YAML of vault.auth.
	address, auth string
	// passwordFrom (default: the rig's secret/rotator/harbor, key password).
	passwordFrom string
	// writeBack YAML ("" for none), revokeAfter (default 1h), schedule ("" for none).
	writeBack, revokeAfter, schedule string
}

func vaultConfig(t *testing.T, o vaultOpts) string {
	t.Helper()
	if err := rig.CreateNamespace(context.Background(), stateNS, nil); err != nil {
		t.Fatal(err)
	}
	if o.address == "" {
		o.address = rig.VaultAddr
	}
	if o.passwordFrom == "" {
		o.passwordFrom = fmt.Sprintf("{vault: {mount: %s, path: %s, key: password}}", sandbox.VaultKVMount, sandbox.VaultHarborPath)
	}
	if o.revokeAfter == "" {
		o.revokeAfter = "1h"
	}
	extra := ""
	if o.writeBack != "" {
		extra += "  writeBack: " + o.writeBack + "\n"
	}
	if o.schedule != "" {
		extra += fmt.Sprintf("  schedule: %q\n  allowFrequentRotation: true\n", o.schedule)
	}
	return writeFile(t, "config.yaml", fmt.Sprintf(`stateNamespace: %s
vault:
  address: %s
  auth:
    %s
credentials:
- name: %s
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: %s
    projects: [proj-a]
  lifetime: 30d
  revokeAfter: %s
  verifyImages: [%s]
  targets:
    secretName: harbor-pull
    namespaces: [%s]
    serviceAccounts: [default]
  restart:
    timeout: 90s
%s`, stateNS, o.address, o.auth, o.name, rig.HarborURL, rig.HarborUsername, o.passwordFrom, o.revokeAfter,
		rig.Images["proj-a"], strings.Join(o.namespaces, ", "), extra))
}

func vaultRoot(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: rig.VaultAddr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(rig.VaultToken)
	return c
}

// vaultToken creates a Vault token with policies and writes it to a file; it returns the file
// and the token (to check that it never appears in output).
func vaultToken(t *testing.T, ttl string, renewable bool, policies ...string) (file, token string) {
	t.Helper()
	s, err := vaultRoot(t).Auth().Token().Create(&api.TokenCreateRequest{Policies: policies, TTL: ttl, Renewable: &renewable, NoParent: true})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "vault-token", s.Auth.ClientToken+"\n"), s.Auth.ClientToken
}

// serviceAccountToken returns a real token of ns/name from the API server's TokenRequest API.
func serviceAccountToken(t *testing.T, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	secs := int64(3600)
	tr, err := rig.Admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func appRoleAuth() string {
	return fmt.Sprintf("appRole: {roleId: %s, secretIdFile: %s}", rig.VaultRoleID, rig.VaultSecretIDFile)
}

// kv reads a version (0: latest) of secret/<path> in the rig's Vault.
func kv(t *testing.T, path string, version int) *api.KVSecret {
	t.Helper()
	var s *api.KVSecret
	var err error
	if version == 0 {
		s, err = vaultRoot(t).KVv2(sandbox.VaultKVMount).Get(context.Background(), path)
	} else {
		s, err = vaultRoot(t).KVv2(sandbox.VaultKVMount).GetVersion(context.Background(), path, version)
	}
	if err != nil {
		t.Fatalf("read %s version %d from Vault: %v", path, version, err)
	}
	return s
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// noSecretIn fails when any of secrets appears in the rotator's output.
func noSecretIn(t *testing.T, res rotateResult, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(res.Stdout+res.Stderr, s) {
			t.Fatalf("a secret appeared in the rotator's output:\n%s\n%s", res.Stdout, res.Stderr)
		}
	}
}

// A full rotation with the Harbor admin password read from Vault, logged in through each auth
// method: a given token, Kubernetes auth with a real ServiceAccount token (Vault checks it with
// a TokenReview at the rig's API server), and AppRole.
func TestVaultAuthMethodsRotate(t *testing.T) {
	ctx := context.Background()
	if err := rig.CreateNamespace(ctx, sandbox.VaultKubernetesNamespace, nil); err != nil {
		t.Fatal(err)
	}
	tokenFile, token := vaultToken(t, "1h", true, sandbox.VaultPolicy)
	jwt := serviceAccountToken(t, sandbox.VaultKubernetesNamespace, sandbox.VaultKubernetesServiceAccount)
	jwtFile := writeFile(t, "sa-token", jwt)
	for _, tc := range []struct{ name, auth string }{
		{"vtoken", "token: {file: " + tokenFile + "}"},
		{"vkube", fmt.Sprintf("kubernetes: {role: %s, tokenFile: %s}", sandbox.VaultRole, jwtFile)},
		{"vapprole", appRoleAuth()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nss := namespaces(t, tc.name, 1)
			if err := rig.Apply(ctx, sandbox.Deployment(nss[0], "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
				t.Fatal(err)
			}
			cfg := vaultConfig(t, vaultOpts{name: tc.name, namespaces: nss, auth: tc.auth})
			res := runRotator(t, rig.RotatorKubeconfig, "-v", "rotate", "now", "--config", cfg, "-o", "json")
			if res.Code != 0 || !res.OK || res.Reports[0].Issued == nil {
				t.Fatalf("rotation with the password from Vault (%s auth) failed: exit %d\n%s\n%s", tc.name, res.Code, res.Stdout, res.Stderr)
			}
			if !strings.Contains(res.Stderr, "logged in to Vault") {
				t.Fatalf("no Vault login in the log:\n%s", res.Stderr)
			}
			noSecretIn(t, res, token, jwt, rig.VaultToken)
			u, p := secretCredential(t, nss[0], "harbor-pull")
			if err := pull(rig.Images["proj-a"], u, p); err != nil {
				t.Fatalf("the written credential does not pull: %v", err)
			}
			waitAvailable(t, nss[0], "web")
		})
	}

	// A ServiceAccount the role is not bound to is refused, with a message saying what to check.
	t.Run("kubernetes auth refuses another ServiceAccount", func(t *testing.T) {
		nss := namespaces(t, "vkubebad", 1)
		other := writeFile(t, "other-token", serviceAccountToken(t, sandbox.VaultKubernetesNamespace, "someone-else"))
		cfg := vaultConfig(t, vaultOpts{name: "vkubebad", namespaces: nss, auth: fmt.Sprintf("kubernetes: {role: %s, tokenFile: %s}", sandbox.VaultRole, other)})
		res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
		if res.Code != 1 || len(res.Reports[0].Errors) == 0 {
			t.Fatalf("want a failed run, got exit %d:\n%s\n%s", res.Code, res.Stdout, res.Stderr)
		}
		msg := res.Reports[0].Errors[0]
		for _, want := range []string{"Vault login failed", "auth/kubernetes", `role "rotator"`, "ServiceAccount"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error must say %q: %s", want, msg)
			}
		}
		if n := len(robotsNamed("rotator-vkubebad-")); n != 0 {
			t.Fatalf("a robot was issued without the admin password: %d", n)
		}
	})
}

// The issued credential is written back to Vault: it pulls from the registry, says what wrote
// it, and the previous credential stays in the KV history.
func TestVaultWriteBack(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "vwb", 1)
	if err := rig.Apply(ctx, sandbox.Deployment(nss[0], "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	path := sandbox.VaultWriteBackPrefix + "vwb"
	cfg := vaultConfig(t, vaultOpts{name: "vwb", namespaces: nss, auth: appRoleAuth(),
		writeBack: fmt.Sprintf("{mount: %s, path: %s}", sandbox.VaultKVMount, path)})

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("first rotation: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	first := res.Reports[0]
	if first.WrittenBack == nil || first.WrittenBack.CredentialID != first.Issued.ID {
		t.Fatalf("report must say what was written back: %+v", first.WrittenBack)
	}
	v1 := kv(t, path, 0)
	if v1.VersionMetadata.Version != first.WrittenBack.Version {
		t.Fatalf("report says version %d, Vault has %d", first.WrittenBack.Version, v1.VersionMetadata.Version)
	}
	d := v1.Data
	if str(d, "registry") != rig.RegistryHost || str(d, "credential_id") != first.Issued.ID || str(d, "username") != first.Issued.Name {
		t.Fatalf("written-back fields: registry %q id %q username %q", str(d, "registry"), str(d, "credential_id"), str(d, "username"))
	}
	if exp, err := time.Parse(time.RFC3339, str(d, "expires_at")); err != nil || !exp.Equal(first.Issued.ExpiresAt.Truncate(time.Second)) {
		t.Fatalf("expires_at %q, issued expires %v (%v)", str(d, "expires_at"), first.Issued.ExpiresAt, err)
	}
	if err := pull(rig.Images["proj-a"], str(d, "username"), str(d, "password")); err != nil {
		t.Fatalf("the written-back credential does not pull: %v", err)
	}
	if u, p := secretCredential(t, nss[0], "harbor-pull"); u != str(d, "username") || p != str(d, "password") {
		t.Fatal("Vault and the cluster hold different credentials")
	}
	noSecretIn(t, res, str(d, "password"))
	meta, err := vaultRoot(t).KVv2(sandbox.VaultKVMount).GetMetadata(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if meta.CustomMetadata["written-by"] != "rotator" || meta.CustomMetadata["credential"] != "vwb" {
		t.Fatalf("custom_metadata must say what wrote it: %v", meta.CustomMetadata)
	}

	// A second rotation writes a new version; the first stays in the history.
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("second rotation: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	second := res.Reports[0]
	if v2 := kv(t, path, 0); v2.VersionMetadata.Version != v1.VersionMetadata.Version+1 || str(v2.Data, "credential_id") != second.Issued.ID {
		t.Fatalf("latest version %d holds %q, want version %d with %s", v2.VersionMetadata.Version, str(v2.Data, "credential_id"), v1.VersionMetadata.Version+1, second.Issued.ID)
	}
	old := kv(t, path, v1.VersionMetadata.Version)
	if str(old.Data, "credential_id") != first.Issued.ID || str(old.Data, "password") != str(d, "password") {
		t.Fatal("the KV history must keep the previous credential")
	}
	// Still valid during its grace period (revokeAfter 1h): a CI job holding it keeps pulling.
	if err := pull(rig.Images["proj-a"], str(old.Data, "username"), str(old.Data, "password")); err != nil {
		t.Fatalf("the previous credential must pull until it is revoked: %v", err)
	}

	// Nothing due: no new version.
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 || res.Reports[0].Result != "nothing-due" || res.Reports[0].WrittenBack != nil {
		t.Fatalf("want nothing-due, got exit %d %+v", res.Code, res.Reports[0])
	}
}

// A failed write-back fails the run but never undoes the rotation; the next run writes it back,
// and the credential Vault still holds is not revoked before that.
func TestVaultWriteBackFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "vwbfail", 1)
	if err := rig.Apply(ctx, sandbox.Deployment(nss[0], "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	root := vaultRoot(t)
	// Its own policy, so that the test can take the write permission away and give it back.
	path := "rotator/pull/vwbfail"
	readOnly := `path "secret/data/rotator/harbor" { capabilities = ["read"] }`
	readWrite := readOnly + `
path "secret/data/rotator/pull/vwbfail" { capabilities = ["create", "update", "read"] }
path "secret/metadata/rotator/pull/vwbfail" { capabilities = ["create", "update", "read"] }`
	if err := root.Sys().PutPolicy("vwbfail", readWrite); err != nil {
		t.Fatal(err)
	}
	tokenFile, _ := vaultToken(t, "1h", true, "vwbfail")
	cfg := vaultConfig(t, vaultOpts{name: "vwbfail", namespaces: nss, auth: "token: {file: " + tokenFile + "}",
		revokeAfter: "0s", writeBack: fmt.Sprintf("{mount: secret, path: %s}", path)})

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("first rotation: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	a := res.Reports[0].Issued

	// Take the write permission away: the rotation succeeds, the write-back fails.
	if err := root.Sys().PutPolicy("vwbfail", readOnly); err != nil {
		t.Fatal(err)
	}
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	rep := res.Reports[0]
	if res.Code != 1 || rep.Issued == nil || rep.WrittenBack != nil {
		t.Fatalf("want exit 1 with a new credential and no write-back, got exit %d %+v\n%s", res.Code, rep, res.Stderr)
	}
	b := rep.Issued
	msg := strings.Join(rep.Errors, "\n")
	t.Log(msg)
	for _, want := range []string{"back to Vault", "permission denied", "the rotation itself stands", "next run writes it back", "secret/data/rotator/pull/vwbfail"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error must say %q:\n%s", want, msg)
		}
	}
	if u, p := secretCredential(t, nss[0], "harbor-pull"); u != b.Name || pull(rig.Images["proj-a"], u, p) != nil {
		t.Fatalf("the rotation must stand: the namespace holds %s, want %s", u, b.Name)
	}
	// revokeAfter is 0s, but Vault still hands out A: it must not be revoked yet.
	if len(robotsNamed(a.Name[strings.Index(a.Name, "+")+1:])) != 1 {
		t.Fatalf("credential %s, still in Vault, was revoked", a.Name)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "held back") {
		t.Fatalf("the held-back revocation must be reported: %v", rep.Warnings)
	}
	if got := str(kv(t, path, 0).Data, "credential_id"); got != a.ID {
		t.Fatalf("Vault must still hold %s, holds %s", a.ID, got)
	}

	// Give it back: the next run (only what is due) writes B back, then revokes A.
	if err := root.Sys().PutPolicy("vwbfail", readWrite); err != nil {
		t.Fatal(err)
	}
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	rep = res.Reports[0]
	if res.Code != 0 || rep.Issued != nil || rep.WrittenBack == nil || rep.WrittenBack.CredentialID != b.ID {
		t.Fatalf("want the write-back retried without a new credential, got exit %d %+v\n%s", res.Code, rep, res.Stderr)
	}
	if len(rep.Revoked) != 1 || rep.Revoked[0].ID != a.ID {
		t.Fatalf("want %s revoked once Vault holds %s: %+v", a.ID, b.ID, rep.Revoked)
	}
	d := kv(t, path, 0).Data
	if str(d, "credential_id") != b.ID || pull(rig.Images["proj-a"], str(d, "username"), str(d, "password")) != nil {
		t.Fatalf("Vault must hold %s and it must pull", b.ID)
	}
}

// The faults of the issue, through the binary: a clear error naming the secret, no secret in
// the output, and the old credential untouched (no robot issued, no Secret changed).
func TestVaultFaultsKeepTheOldCredential(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "vfault", 1)
	good := vaultConfig(t, vaultOpts{name: "vfault", namespaces: nss, auth: appRoleAuth()})
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", good); res.Code != 0 {
		t.Fatalf("first rotation: %s\n%s", res.Stdout, res.Stderr)
	}
	before, err := rig.Admin.CoreV1().Secrets(nss[0]).Get(ctx, "harbor-pull", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	root := vaultRoot(t)
	rootFile := writeFile(t, "root-token", rig.VaultToken)
	if err := root.Sys().PutPolicy("vfault-other", `path "secret/data/elsewhere/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	otherFile, otherToken := vaultToken(t, "1h", true, "vfault-other")
	expiringFile, expiringToken := vaultToken(t, "2s", false, sandbox.VaultPolicy)
	if err := root.Sys().Mount("kv1-e2e", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil && !strings.Contains(err.Error(), "path is already in use") {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("kv1-e2e/harbor", map[string]any{"password": rig.HarborPassword}); err != nil {
		t.Fatal(err)
	}
	sealed, err := sandbox.StartVault(ctx, t.TempDir(), "vault-sealed")
	if err != nil {
		t.Fatal(err)
	}
	defer sealed.Stop()
	sc, err := sealed.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.KVv2("secret").Put(ctx, sandbox.VaultHarborPath, map[string]any{"password": rig.HarborPassword}); err != nil {
		t.Fatal(err)
	}
	if err := sc.Sys().Seal(); err != nil { // PUT /v1/sys/seal
		t.Fatal(err)
	}
	sealedFile := writeFile(t, "sealed-token", sealed.RootToken)
	time.Sleep(2 * time.Second) // the 2s token has expired by now

	std := fmt.Sprintf("{vault: {mount: secret, path: %s, key: password}}", sandbox.VaultHarborPath)
	for _, tc := range []struct {
		name         string
		o            vaultOpts
		want         []string
		extraSecrets []string
	}{
		{"unreachable", vaultOpts{address: "http://127.0.0.1:1", auth: appRoleAuth()},
			[]string{"Vault is unreachable", "127.0.0.1:1", "vault.address"}, nil},
		{"sealed", vaultOpts{address: sealed.Addr, auth: "token: {file: " + sealedFile + "}"},
			[]string{"Vault is sealed", "unseal", `path "rotator/harbor"`}, []string{sealed.RootToken}},
		{"permission denied", vaultOpts{auth: "token: {file: " + otherFile + "}"},
			[]string{"permission denied", `key "password"`, "rotator/harbor", "policy"}, []string{otherToken}},
		{"missing key", vaultOpts{auth: "token: {file: " + rootFile + "}", passwordFrom: fmt.Sprintf("{vault: {mount: secret, path: %s, key: passwd}}", sandbox.VaultHarborPath)},
			[]string{"no such key", `key "passwd"`, `in mount "secret" at path "rotator/harbor"`, "keys: password, username"}, nil},
		{"missing version", vaultOpts{auth: "token: {file: " + rootFile + "}", passwordFrom: fmt.Sprintf("{vault: {mount: secret, path: %s, key: password, version: 999}}", sandbox.VaultHarborPath)},
			[]string{"no such version", "version 999", `path "rotator/harbor"`}, nil},
		{"KV v1 mount", vaultOpts{auth: "token: {file: " + rootFile + "}", passwordFrom: "{vault: {path: kv1-e2e/harbor, key: password}}"},
			[]string{"not a KV version 2 mount", "KV version 1", "kv1-e2e", "enable-versioning"}, nil},
		{"expired token", vaultOpts{auth: "token: {file: " + expiringFile + "}", passwordFrom: std},
			[]string{"expired or was revoked", "cannot be renewed", "vault.auth.kubernetes or vault.auth.appRole", `path "rotator/harbor"`}, []string{expiringToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.name, o.namespaces = "vfault", nss
			cfg := vaultConfig(t, o)
			rig.Harbor.ResetRequests()
			robots := len(robotsNamed("rotator-vfault-"))
			res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
			if res.Code != 1 || res.OK || len(res.Reports[0].Errors) == 0 {
				t.Fatalf("want exit 1 with an error, got exit %d:\n%s\n%s", res.Code, res.Stdout, res.Stderr)
			}
			msg := res.Reports[0].Errors[0]
			t.Log(msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error must say %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "Harbor at") {
				t.Errorf("a Vault failure must not read as Harbor's: %s", msg)
			}
			noSecretIn(t, res, append(tc.extraSecrets, rig.VaultToken)...)
			if c := harborChanges(); len(c) != 0 || len(robotsNamed("rotator-vfault-")) != robots {
				t.Fatalf("Harbor was changed without the admin password: %v", c)
			}
			after, err := rig.Admin.CoreV1().Secrets(nss[0]).Get(ctx, "harbor-pull", metav1.GetOptions{})
			if err != nil || after.ResourceVersion != before.ResourceVersion {
				t.Fatalf("the old credential's Secret must be untouched (%v)", err)
			}
		})
	}
}

// A password changed in Vault is used by the next run: the Harbor admin password changes, the
// rotator fails with Harbor's 401 until Vault holds the new one, then succeeds without restart
// or config change. Run in `rotator run`, which also survives the revocation of its Vault token.
func TestVaultServicePicksUpPasswordChangeAndRevokedToken(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "vsvc", 1)
	path := "rotator/harbor-vsvc"
	root := vaultRoot(t)
	if _, err := root.KVv2(sandbox.VaultKVMount).Put(ctx, path, map[string]any{"password": rig.HarborPassword}); err != nil {
		t.Fatal(err)
	}
	original := rig.HarborPassword
	t.Cleanup(func() { rig.Harbor.SetAdminPassword(original) })
	cfg := vaultConfig(t, vaultOpts{name: "vsvc", namespaces: nss, auth: appRoleAuth(), schedule: "@every 6s",
		passwordFrom: fmt.Sprintf("{vault: {mount: secret, path: %s, key: password}}", path)})

	svc := startVerboseService(t, cfg)
	succeeded := func(n float64) func() (bool, string) {
		return func() (bool, string) {
			v := svc.metric(`rotator_runs_total{credential="vsvc",result="succeeded"}`)
			return v >= n, fmt.Sprintf("succeeded runs: %v", v)
		}
	}
	eventually(t, 60*time.Second, "first rotation by the service", succeeded(1))
	done := svc.metric(`rotator_runs_total{credential="vsvc",result="succeeded"}`)

	// Revoke every token of the AppRole, and change Harbor's admin password.
	if err := root.Sys().RevokePrefix("auth/approle/login"); err != nil {
		t.Fatal(err)
	}
	changed := "Harbor-changed-" + fmt.Sprint(time.Now().UnixNano())
	rig.Harbor.SetAdminPassword(changed)
	eventually(t, 30*time.Second, "a run fails while Vault holds the old password", func() (bool, string) {
		v := svc.metric(`rotator_runs_total{credential="vsvc",result="failed"}`)
		return v >= 1, fmt.Sprintf("failed runs: %v", v)
	})
	if !strings.Contains(svc.logs.String(), "Harbor refused the admin credentials") {
		t.Fatalf("the failure must be Harbor's 401:\n%s", svc.logs.String())
	}
	if _, err := root.KVv2(sandbox.VaultKVMount).Put(ctx, path, map[string]any{"password": changed}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "a run succeeds with the password changed in Vault", succeeded(done+1))

	logs := svc.logs.String()
	if n := strings.Count(logs, "logged in to Vault"); n < 2 {
		t.Fatalf("the revoked token must be replaced by a new login, saw %d login(s):\n%s", n, logs)
	}
	for _, s := range []string{original, changed, rig.VaultToken} {
		if strings.Contains(logs, s) {
			t.Fatal("a secret appeared in the service's log")
		}
	}
	u, p := secretCredential(t, nss[0], "harbor-pull")
	if err := pull(rig.Images["proj-a"], u, p); err != nil {
		t.Fatalf("the newest credential does not pull: %v", err)
	}
}

// syncBuffer is a log sink safe to read while the process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// verboseService is a `rotator -v run`, whose debug log shows the Vault logins.
type verboseService struct {
	*service // for metric
	logs     *syncBuffer
}

func startVerboseService(t *testing.T, cfg string) *verboseService {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &verboseService{service: &service{addr: addr}, logs: &syncBuffer{}}
	s.cmd = exec.Command(rotatorBin, "--kubeconfig", rig.RotatorKubeconfig, "-v", "run", "--config", cfg,
		"--listen", addr, "--lease-duration", "4s", "--no-jitter")
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
		if t.Failed() {
			t.Logf("rotator run %s log:\n%s", addr, s.logs.String())
		}
	})
	return s
}
