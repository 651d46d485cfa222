//go:build integration

package secretsource

// Integration tests against a real Vault server in dev mode (built by `make tools`). They never
// skip: without the binary they fail and say how to build it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

// srv is the package's shared dev server; tests that must break a server start their own.
var srv *sandbox.VaultServer

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "secretsource-vault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if srv, err = sandbox.StartVault(ctx, dir, "vault"); err != nil {
		fmt.Fprintln(os.Stderr, "secretsource tests need a Vault server:", err)
		return 1
	}
	defer srv.Stop()
	if err := setupPolicies(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

const (
	readerPolicy = `path "secret/data/ss/*" { capabilities = ["read"] }
path "secret/data/ss/out/*" { capabilities = ["create", "update", "read"] }
path "secret/metadata/ss/out/*" { capabilities = ["create", "update", "read"] }
path "kv1/*" { capabilities = ["read"] }`
	// otherPolicy allows a path the tests never read: permission denied everywhere else.
	otherPolicy = `path "secret/data/elsewhere/*" { capabilities = ["read"] }`
)

func setupPolicies(ctx context.Context) error {
	c, err := srv.Client()
	if err != nil {
		return err
	}
	if err := c.Sys().PutPolicyWithContext(ctx, "reader", readerPolicy); err != nil {
		return err
	}
	if err := c.Sys().PutPolicyWithContext(ctx, "other", otherPolicy); err != nil {
		return err
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		return err
	}
	// A KV version 1 mount, the fault of "a v1 mount where v2 is expected".
	return c.Sys().MountWithContext(ctx, "kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}})
}

func root(t *testing.T) *api.Client {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// putKV writes data as a new version of secret/<path> and returns the version.
func putKV(t *testing.T, path string, data map[string]any) int {
	t.Helper()
	s, err := root(t).KVv2("secret").Put(context.Background(), path, data)
	if err != nil {
		t.Fatal(err)
	}
	return s.VersionMetadata.Version
}

// childToken creates a token with policies; ttl "" means the default (32 days).
func childToken(t *testing.T, ttl string, renewable bool, policies ...string) string {
	t.Helper()
	s, err := root(t).Auth().Token().CreateWithContext(context.Background(), &api.TokenCreateRequest{
		Policies: policies, TTL: ttl, Renewable: &renewable, NoParent: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.Auth.ClientToken
}

// logBuffer collects the Vault client's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

// newVault builds a client of addr with auth; the token method reads VAULT_TOKEN from env.
// Each of opts may change the Options (a test clock, say).
func newVault(t *testing.T, addr string, auth config.VaultAuth, env map[string]string, opts ...func(*Options)) (*Vault, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	vc := &config.Vault{Address: addr, Auth: auth}
	config.Default(&config.Config{Vault: vc})
	o := Options{
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LookupEnv: func(k string) (string, bool) { s, ok := env[k]; return s, ok },
	}
	for _, f := range opts {
		f(&o)
	}
	v, err := NewVault(context.Background(), vc, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, logs
}

func tokenVault(t *testing.T, addr, token string) (*Vault, *logBuffer) {
	return newVault(t, addr, config.VaultAuth{Token: &config.VaultTokenAuth{}}, map[string]string{"VAULT_TOKEN": token})
}

// appRole creates an AppRole with the reader policy and the given token lifetimes, and returns
// the auth config logging in with it.
func appRole(t *testing.T, name string, params map[string]any) config.VaultAuth {
	t.Helper()
	c := root(t)
	ctx := context.Background()
	params["token_policies"] = "reader"
	if _, err := c.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, params); err != nil {
		t.Fatal(err)
	}
	rid, err := c.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.Logical().WriteWithContext(ctx, "auth/approle/role/"+name+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(f, []byte(sid.Data["secret_id"].(string)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.VaultAuth{AppRole: &config.VaultAppRoleAuth{RoleID: rid.Data["role_id"].(string), SecretIDFile: f}}
}

// wantKind checks the error's kind, that it names what it must, and that no secret is in it.
func wantKind(t *testing.T, err error, kind error, mustName []string, secrets ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("want %v, got %v", kind, err)
	}
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *Error, got %T", err)
	}
	t.Log(err)
	for _, s := range mustName {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error must name %q: %v", s, err)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("a secret appears in the error: %v", err)
		}
	}
}

func TestReadKVPathFormsAndVersions(t *testing.T) {
	ctx := context.Background()
	v1 := putKV(t, "ss/forms", map[string]any{"password": "first-value", "username": "admin"})
	putKV(t, "ss/forms", map[string]any{"password": "second-value", "username": "admin"})
	tok := childToken(t, "", true, "reader")
	v, _ := tokenVault(t, srv.Addr, tok)
	for _, ref := range []config.VaultRef{
		{Path: "secret/data/ss/forms", Key: "password"},
		{Path: "secret/ss/forms", Key: "password"},
		{Mount: "secret", Path: "ss/forms", Key: "password"},
	} {
		got, err := v.ReadKV(ctx, ref)
		if err != nil || got != "second-value" {
			t.Fatalf("%+v: %q %v", ref, got, err)
		}
	}
	got, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/forms", Key: "password", Version: v1})
	if err != nil || got != "first-value" {
		t.Fatalf("pinned version %d: %q %v", v1, got, err)
	}
}

// A value changed in Vault is what the next read returns: nothing is cached.
func TestReadKVPicksUpChanges(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/change", map[string]any{"password": "before"})
	v, _ := tokenVault(t, srv.Addr, childToken(t, "", true, "reader"))
	src := &Sources{vault: v}
	ref := config.SecretRef{Vault: &config.VaultRef{Path: "secret/data/ss/change", Key: "password"}}
	if got, err := src.Read(ctx, ref); err != nil || got != "before" {
		t.Fatalf("%q %v", got, err)
	}
	putKV(t, "ss/change", map[string]any{"password": "after"})
	if got, err := src.Read(ctx, ref); err != nil || got != "after" {
		t.Fatalf("the changed password must be read: %q %v", got, err)
	}
}

func TestWriteKVKeepsHistoryAndMetadata(t *testing.T) {
	ctx := context.Background()
	v, _ := tokenVault(t, srv.Addr, childToken(t, "", true, "reader"))
	meta := map[string]string{"written-by": "rotator", "credential": "c1"}
	n1, err := v.WriteKV(ctx, "", "secret/data/ss/out/c1", map[string]string{"username": "u1", "password": "p1"}, meta)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := v.WriteKV(ctx, "secret", "ss/out/c1", map[string]string{"username": "u2", "password": "p2"}, meta)
	if err != nil || n2 != n1+1 {
		t.Fatalf("second write: version %d after %d, %v", n2, n1, err)
	}
	kv := root(t).KVv2("secret")
	old, err := kv.GetVersion(ctx, "ss/out/c1", n1)
	if err != nil || old.Data["username"] != "u1" {
		t.Fatalf("the previous version must stay in the history: %v %v", old, err)
	}
	m, err := kv.GetMetadata(ctx, "ss/out/c1")
	if err != nil || m.CustomMetadata["written-by"] != "rotator" || m.CustomMetadata["credential"] != "c1" {
		t.Fatalf("custom metadata: %+v %v", m, err)
	}
	if m.MaxVersions != 0 {
		t.Fatalf("writing custom_metadata must leave max_versions alone, got %d", m.MaxVersions)
	}

	// Denied: the reader policy may not write outside ss/out/.
	_, err = v.WriteKV(ctx, "secret", "ss/forbidden", map[string]string{"password": "p3"}, meta)
	wantKind(t, err, ErrPermissionDenied, []string{`mount "secret"`, `"ss/forbidden"`, "secret/data/ss/forbidden", `"create"`}, "p3")
}

// The faults of the issue, each with its error kind, the names needed to fix it, and no secret.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/harbor", map[string]any{"password": "the-admin-password"})
	reader := childToken(t, "", true, "reader")

	t.Run("unreachable", func(t *testing.T) {
		v, _ := tokenVault(t, "http://127.0.0.1:1", reader)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password"})
		wantKind(t, err, ErrUnreachable, []string{"127.0.0.1:1", `"ss/harbor"`, `key "password"`, "vault.address"}, reader)
	})
	t.Run("permission denied", func(t *testing.T) {
		tok := childToken(t, "", true, "other")
		v, logs := tokenVault(t, srv.Addr, tok)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password"})
		wantKind(t, err, ErrPermissionDenied, []string{`"ss/harbor"`, `key "password"`, "policy"}, tok, "the-admin-password")
		if strings.Contains(logs.String(), tok) {
			t.Fatal("the token appears in the log")
		}
	})
	t.Run("missing secret", func(t *testing.T) {
		v, _ := tokenVault(t, srv.Addr, reader)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/nothing-here", Key: "password"})
		wantKind(t, err, ErrNotFound, []string{`"ss/nothing-here"`, "vault kv put"}, reader)
	})
	t.Run("missing key", func(t *testing.T) {
		v, _ := tokenVault(t, srv.Addr, reader)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "passwd"})
		wantKind(t, err, ErrKeyNotFound, []string{`key "passwd"`, "keys: password"}, reader, "the-admin-password")
	})
	t.Run("missing version", func(t *testing.T) {
		v, _ := tokenVault(t, srv.Addr, reader)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password", Version: 99})
		wantKind(t, err, ErrVersionNotFound, []string{"version 99", `"ss/harbor"`}, reader)
	})
	t.Run("deleted version", func(t *testing.T) {
		n := putKV(t, "ss/deleted", map[string]any{"password": "gone-value"})
		putKV(t, "ss/deleted", map[string]any{"password": "current-value"})
		if err := root(t).KVv2("secret").DeleteVersions(ctx, "ss/deleted", []int{n}); err != nil {
			t.Fatal(err)
		}
		v, _ := tokenVault(t, srv.Addr, reader)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/deleted", Key: "password", Version: n})
		wantKind(t, err, ErrVersionNotFound, []string{fmt.Sprintf("version %d", n), "deleted"}, reader, "gone-value")
	})
	t.Run("KV v1 mount", func(t *testing.T) {
		if _, err := root(t).Logical().WriteWithContext(ctx, "kv1/harbor", map[string]any{"password": "v1-value"}); err != nil {
			t.Fatal(err)
		}
		v, _ := tokenVault(t, srv.Addr, reader)
		_, err := v.ReadKV(ctx, config.VaultRef{Path: "kv1/harbor", Key: "password"})
		wantKind(t, err, ErrNotKVv2, []string{"KV version 1", "kv1", "enable-versioning"}, reader, "v1-value")
	})
	t.Run("expired token that cannot be renewed", func(t *testing.T) {
		tok := childToken(t, "2s", false, "reader")
		v, _ := tokenVault(t, srv.Addr, tok)
		if _, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password"}); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		time.Sleep(3 * time.Second)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password"})
		wantKind(t, err, ErrTokenExpired, []string{"VAULT_TOKEN", "expired", `"ss/harbor"`, "kubernetes or vault.auth.appRole"}, tok, "the-admin-password")
	})
	t.Run("login refused", func(t *testing.T) {
		auth := appRole(t, "wrong-secret", map[string]any{})
		if err := os.WriteFile(auth.AppRole.SecretIDFile, []byte("not-the-secret-id"), 0o600); err != nil {
			t.Fatal(err)
		}
		v, _ := newVault(t, srv.Addr, auth, nil)
		_, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password"})
		wantKind(t, err, ErrLogin, []string{"auth/approle", "roleId", `"ss/harbor"`}, "not-the-secret-id")
	})
}

// Sealing breaks the server, so this test has one of its own.
func TestFaultSealed(t *testing.T) {
	ctx := context.Background()
	own, err := sandbox.StartVault(ctx, t.TempDir(), "vault-sealed")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	c, err := own.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "ss/harbor", map[string]any{"password": "sealed-away"}); err != nil {
		t.Fatal(err)
	}
	v, _ := tokenVault(t, own.Addr, own.RootToken)
	ref := config.VaultRef{Mount: "secret", Path: "ss/harbor", Key: "password"}
	if _, err := v.ReadKV(ctx, ref); err != nil {
		t.Fatalf("before sealing: %v", err)
	}
	if err := c.Sys().SealWithContext(ctx); err != nil { // PUT /v1/sys/seal
		t.Fatal(err)
	}
	_, err = v.ReadKV(ctx, ref)
	wantKind(t, err, ErrSealed, []string{"unseal", `"ss/harbor"`, `key "password"`}, own.RootToken, "sealed-away")
}

// A token revoked behind the client's back is replaced by a new login, and the read succeeds.
func TestRevokedTokenIsReplacedByANewLogin(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/revoke", map[string]any{"password": "still-readable"})
	v, logs := newVault(t, srv.Addr, appRole(t, "revoke", map[string]any{"token_ttl": "1h"}), nil)
	ref := config.VaultRef{Mount: "secret", Path: "ss/revoke", Key: "password"}
	if got, err := v.ReadKV(ctx, ref); err != nil || got != "still-readable" {
		t.Fatalf("%q %v", got, err)
	}
	if n := logs.count("logged in to Vault"); n != 1 {
		t.Fatalf("want one login, got %d:\n%s", n, logs)
	}
	// Revoke every token this AppRole issued, as an operator (or a leak response) would.
	if err := root(t).Sys().RevokePrefixWithContext(ctx, "auth/approle/login"); err != nil {
		t.Fatal(err)
	}
	old := v.currentToken()
	if _, err := root(t).Auth().Token().LookupWithContext(ctx, old); err == nil {
		t.Fatal("the token must be revoked for this test to mean anything")
	}
	if got, err := v.ReadKV(ctx, ref); err != nil || got != "still-readable" {
		t.Fatalf("after revocation: %q %v", got, err)
	}
	if n := logs.count("logged in to Vault"); n != 2 {
		t.Fatalf("want a second login, got %d:\n%s", n, logs)
	}
	if v.currentToken() == old {
		t.Fatal("the revoked token is still in use")
	}
}

// A token is renewed before its TTL ends; at its max TTL it is replaced by a new login.
func TestTokenRenewalAndReLoginAtMaxTTL(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/renew", map[string]any{"password": "renewed-value"})
	ref := config.VaultRef{Mount: "secret", Path: "ss/renew", Key: "password"}

	t.Run("renewed", func(t *testing.T) {
		v, logs := newVault(t, srv.Addr, appRole(t, "renewed", map[string]any{"token_ttl": "4s", "token_max_ttl": "1h"}), nil)
		if _, err := v.ReadKV(ctx, ref); err != nil {
			t.Fatal(err)
		}
		tok := v.currentToken()
		time.Sleep(7 * time.Second) // longer than the TTL: only renewal keeps the token alive
		if _, err := root(t).Auth().Token().LookupWithContext(ctx, tok); err != nil {
			t.Fatalf("the token must have been renewed past its 4s TTL: %v\n%s", err, logs)
		}
		if _, err := v.ReadKV(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if logs.count("logged in to Vault") != 1 || logs.count("renewed the Vault token") == 0 {
			t.Fatalf("want one login and renewals:\n%s", logs)
		}
	})
	t.Run("max TTL reached", func(t *testing.T) {
		v, logs := newVault(t, srv.Addr, appRole(t, "maxttl", map[string]any{"token_ttl": "2s", "token_max_ttl": "4s"}), nil)
		if _, err := v.ReadKV(ctx, ref); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Second)
		if got, err := v.ReadKV(ctx, ref); err != nil || got != "renewed-value" {
			t.Fatalf("after max TTL: %q %v\n%s", got, err, logs)
		}
		if n := logs.count("logged in to Vault"); n != 2 {
			t.Fatalf("want a new login after the max TTL, got %d:\n%s", n, logs)
		}
	})
}

// The namespace header goes with every request, the login included. Vault OSS has no namespaces,
// so a recording proxy in front of the real server shows what the client sends.
func TestNamespaceHeader(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/ns", map[string]any{"password": "ns-value"})
	target, _ := url.Parse(srv.Addr)
	var mu sync.Mutex
	seen := map[string]string{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("X-Vault-Namespace")
		mu.Unlock()
		r.Header.Del("X-Vault-Namespace") // OSS would refuse a namespace it does not have
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	auth := appRole(t, "ns", map[string]any{})
	logs := &logBuffer{}
	vc := &config.Vault{Address: front.URL, Namespace: "team-a", Auth: auth}
	config.Default(&config.Config{Vault: vc})
	v, err := NewVault(ctx, vc, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got, err := v.ReadKV(ctx, config.VaultRef{Mount: "secret", Path: "ss/ns", Key: "password"}); err != nil || got != "ns-value" {
		t.Fatalf("%q %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/v1/auth/approle/login", "/v1/sys/internal/ui/mounts/secret/ss/ns", "/v1/secret/data/ss/ns"} {
		if seen[p] != "team-a" {
			t.Errorf("%s sent namespace %q, want team-a (seen: %v)", p, seen[p], seen)
		}
	}
}

// Vault over TLS: its certificate is refused until vault.caFile names the CA that signed it.
func TestTLSCABundle(t *testing.T) {
	ctx := context.Background()
	own, err := sandbox.StartVaultTLS(ctx, t.TempDir(), "vault-tls")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	c, err := own.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "ss/tls", map[string]any{"password": "over-tls"}); err != nil {
		t.Fatal(err)
	}
	ref := config.VaultRef{Mount: "secret", Path: "ss/tls", Key: "password"}
	env := map[string]string{"VAULT_TOKEN": own.RootToken}

	v, _ := newVault(t, own.Addr, config.VaultAuth{Token: &config.VaultTokenAuth{}}, env)
	_, err = v.ReadKV(ctx, ref)
	wantKind(t, err, ErrTLS, []string{"vault.caFile", `"ss/tls"`}, own.RootToken)

	vc := &config.Vault{Address: own.Addr, CAFile: own.CAFile, Auth: config.VaultAuth{Token: &config.VaultTokenAuth{Env: "VAULT_TOKEN"}}}
	trusted, err := NewVault(ctx, vc, Options{LookupEnv: func(k string) (string, bool) { s, ok := env[k]; return s, ok }})
	if err != nil {
		t.Fatal(err)
	}
	defer trusted.Close()
	if got, err := trusted.ReadKV(ctx, ref); err != nil || got != "over-tls" {
		t.Fatalf("with vault.caFile: %q %v", got, err)
	}
}
