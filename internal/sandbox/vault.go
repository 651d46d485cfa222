package sandbox

import (
	"context"
	cryptotls "crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/hashicorp/vault/api"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What the rig sets up in its Vault, for configs and tests.
const (
	// VaultKVMount is dev mode's KV version 2 mount.
	VaultKVMount = "secret"
	// VaultHarborPath holds the Harbor admin's "username" and "password" (below VaultKVMount).
	VaultHarborPath = "rotator/harbor"
	// VaultWriteBackPrefix is where the rotator's policy may write issued credentials back.
	VaultWriteBackPrefix = "rotator/pull/"
	// VaultPolicy is the rotator's policy: read below rotator/, write below rotator/pull/.
	VaultPolicy = "rotator"
	// VaultRole is the AppRole and the Kubernetes auth role of the rotator, both with VaultPolicy.
	VaultRole = "rotator"
	// VaultKubernetesServiceAccount (in VaultKubernetesNamespace) is what the Kubernetes auth
	// role accepts.
	VaultKubernetesServiceAccount = "rotator"
	VaultKubernetesNamespace      = "rotator-system"
)

// vaultPolicy grants the least the rotator needs: read its provider secrets, write issued
// credentials (data and custom metadata) below the write-back prefix. Vault applies the most
// specific matching path, so rotator/pull/* gets the write capabilities.
const vaultPolicy = `
path "secret/data/rotator/*" { capabilities = ["read"] }
path "secret/data/rotator/pull/*" { capabilities = ["read", "create", "update"] }
path "secret/metadata/rotator/pull/*" { capabilities = ["read", "create", "update"] }
`

// VaultServer is a real Vault in dev mode: in memory, unsealed, KV version 2 at secret/.
type VaultServer struct {
	proc *process
	// Addr is http(s)://127.0.0.1:<port>; RootToken is the dev root token.
	Addr, RootToken string
	// CAFile signs the server's certificate (StartVaultTLS only).
	CAFile string
}

// rootTokenLine is how `vault server -dev` prints its root token. The token is left to Vault to
// generate and read from the server's log (0600, in the rig's directory) rather than passed with
// -dev-root-token-id: a process argument is readable by every user of the machine.
var rootTokenLine = regexp.MustCompile(`(?m)^Root Token: (\S+)\s*$`)

// StartVault starts a dev-mode Vault server with its log in dir and returns when it is ready.
// name tells several servers apart (the log is dir/<name>.log).
func StartVault(ctx context.Context, dir, name string) (*VaultServer, error) {
	return startVault(ctx, dir, name, false)
}

// StartVaultTLS is StartVault serving https with a certificate of its own CA (CAFile).
func StartVaultTLS(ctx context.Context, dir, name string) (*VaultServer, error) {
	return startVault(ctx, dir, name, true)
}

func startVault(ctx context.Context, dir, name string, tls bool) (*VaultServer, error) {
	bin, err := binary("vault")
	if err != nil {
		return nil, err
	}
	if err := mkdirAll(dir); err != nil {
		return nil, err
	}
	port, err := freePortPair()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"server", "-dev", "-dev-listen-address=" + addr, "-dev-no-store-token"}
	v := &VaultServer{Addr: "http://" + addr}
	client := http.DefaultClient
	if tls {
		certDir := filepath.Join(dir, name+"-tls")
		if err := mkdirAll(certDir); err != nil {
			return nil, err
		}
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+certDir)
		v.Addr, v.CAFile = "https://"+addr, filepath.Join(certDir, "vault-ca.pem")
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &cryptotls.Config{RootCAs: x509.NewCertPool()}}}
	}
	p, err := startProcess(name, bin, args, dir)
	if err != nil {
		return nil, err
	}
	v.proc = p
	// Ready: the root token is printed and /v1/sys/health answers 200 (initialized, unsealed, active).
	ready := func(ctx context.Context) error {
		b, _ := os.ReadFile(p.logPath)
		m := rootTokenLine.FindSubmatch(b)
		if m == nil {
			return fmt.Errorf("no root token in the log yet")
		}
		v.RootToken = string(m[1])
		if tls {
			// The CA is written at start: trust it once it is there.
			pem, err := os.ReadFile(v.CAFile)
			if err != nil {
				return err
			}
			client.Transport.(*http.Transport).TLSClientConfig.RootCAs.AppendCertsFromPEM(pem)
		}
		return httpOK(client, v.Addr+"/v1/sys/health")(ctx)
	}
	if err := p.waitReady(ctx, 60*time.Second, ready); err != nil {
		p.stop()
		return nil, err
	}
	return v, nil
}

// freePortPair returns a free port P whose P+1 is free too: Vault's cluster listener takes the
// port after the API's.
func freePortPair() (int, error) {
	for range 20 {
		ports, err := freePorts(1)
		if err != nil {
			return 0, err
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]+1))
		if err == nil {
			l.Close()
			return ports[0], nil
		}
	}
	return 0, errors.New("sandbox: no two adjacent free ports for Vault")
}

// Client is a root client of the server.
func (v *VaultServer) Client() (*api.Client, error) {
	cfg := &api.Config{Address: v.Addr, HttpClient: &http.Client{Timeout: 30 * time.Second}}
	if v.CAFile != "" {
		cfg.HttpClient.Transport = &http.Transport{TLSClientConfig: &cryptotls.Config{MinVersion: cryptotls.VersionTLS12}}
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: v.CAFile}); err != nil {
			return nil, err
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.ClearNamespace()
	c.SetToken(v.RootToken)
	return c, nil
}

// Stop stops the server.
func (v *VaultServer) Stop() { v.proc.stop() }

// Pid of the server process.
func (v *VaultServer) Pid() int { return v.proc.pid() }

// Exited reports whether the server died, with the tail of its log.
func (v *VaultServer) Exited() error { return v.proc.exited() }

// startVault starts the rig's Vault and sets it up: the Harbor password in KV, the rotator's
// policy, AppRole, and Kubernetes auth checking ServiceAccount tokens against the rig's API server.
func (r *Rig) startVault(ctx context.Context) error {
	var err error
	if r.vault, err = StartVault(ctx, filepath.Join(r.Dir, "vault"), "vault"); err != nil {
		return err
	}
	r.VaultAddr, r.VaultToken = r.vault.Addr, r.vault.RootToken
	c, err := r.vault.Client()
	if err != nil {
		return err
	}
	if _, err := c.KVv2(VaultKVMount).Put(ctx, VaultHarborPath, map[string]any{"username": r.HarborUsername, "password": r.HarborPassword}); err != nil {
		return fmt.Errorf("sandbox: vault: put %s/%s: %w", VaultKVMount, VaultHarborPath, err)
	}
	if err := c.Sys().PutPolicyWithContext(ctx, VaultPolicy, vaultPolicy); err != nil {
		return fmt.Errorf("sandbox: vault: policy: %w", err)
	}
	if err := r.setupVaultAppRole(ctx, c); err != nil {
		return err
	}
	return r.setupVaultKubernetes(ctx, c)
}

func (r *Rig) setupVaultAppRole(ctx context.Context, c *api.Client) error {
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		return fmt.Errorf("sandbox: vault: enable approle: %w", err)
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/approle/role/"+VaultRole, map[string]any{
		"token_policies": VaultPolicy, "token_ttl": "1h", "token_max_ttl": "4h",
	}); err != nil {
		return fmt.Errorf("sandbox: vault: approle role: %w", err)
	}
	roleID, err := c.Logical().ReadWithContext(ctx, "auth/approle/role/"+VaultRole+"/role-id")
	if err != nil {
		return fmt.Errorf("sandbox: vault: read role id: %w", err)
	}
	if roleID == nil {
		return errors.New("sandbox: vault: read role id: no answer")
	}
	r.VaultRoleID, _ = roleID.Data["role_id"].(string)
	secretID, err := c.Logical().WriteWithContext(ctx, "auth/approle/role/"+VaultRole+"/secret-id", nil)
	if err != nil {
		return fmt.Errorf("sandbox: vault: create secret id: %w", err)
	}
	if secretID == nil {
		return errors.New("sandbox: vault: create secret id: no answer")
	}
	sid, _ := secretID.Data["secret_id"].(string)
	r.VaultSecretIDFile = filepath.Join(r.Dir, "vault", "approle-secret-id")
	return os.WriteFile(r.VaultSecretIDFile, []byte(sid+"\n"), 0o600)
}

// setupVaultKubernetes points Vault's Kubernetes auth at the rig's API server. Vault checks each
// login's ServiceAccount token with a TokenReview, made with the token of a reviewer
// ServiceAccount bound to system:auth-delegator.
func (r *Rig) setupVaultKubernetes(ctx context.Context, c *api.Client) error {
	const reviewer, ns = "vault-token-reviewer", "kube-system"
	if _, err := r.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: reviewer}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: vault reviewer ServiceAccount: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: reviewer},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: reviewer, Namespace: ns}},
	}
	if _, err := r.Admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: vault reviewer binding: %w", err)
	}
	// The rig lives for a test run or a demo session: a day is plenty.
	secs := int64(24 * 60 * 60)
	tr, err := r.Admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, reviewer, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("sandbox: vault reviewer token: %w", err)
	}
	ca, err := os.ReadFile(r.CAFile())
	if err != nil {
		return err
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "kubernetes", &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		return fmt.Errorf("sandbox: vault: enable kubernetes auth: %w", err)
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/kubernetes/config", map[string]any{
		"kubernetes_host": r.KubeURL, "kubernetes_ca_cert": string(ca), "token_reviewer_jwt": tr.Status.Token,
		// Vault is not running in a pod: there is no local ServiceAccount to fall back on.
		"disable_local_ca_jwt": true,
	}); err != nil {
		return fmt.Errorf("sandbox: vault: kubernetes auth config: %w", err)
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/kubernetes/role/"+VaultRole, map[string]any{
		"bound_service_account_names":      VaultKubernetesServiceAccount,
		"bound_service_account_namespaces": VaultKubernetesNamespace,
		"token_policies":                   VaultPolicy, "token_ttl": "1h",
	}); err != nil {
		return fmt.Errorf("sandbox: vault: kubernetes auth role: %w", err)
	}
	return nil
}
