package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// controlPlane is etcd, kube-apiserver and kube-controller-manager, all on loopback.
type controlPlane struct {
	etcd, apiserver, controllers *process

	// URL of the API server, e.g. https://127.0.0.1:40123.
	URL string
	// CAFile is the API server's self-signed serving certificate.
	CAFile string
	// AdminKubeconfig is system:masters; RotatorKubeconfig is the user "rotator" and
	// DoctorKubeconfig the user "rotator-doctor", which hold only what RBAC grants them.
	AdminKubeconfig, RotatorKubeconfig, DoctorKubeconfig string
	// AuditLog has one JSON line per request the API server answered, so tests can prove that a
	// command wrote nothing, at the server itself.
	AuditLog string
}

// Identities in the API server's static token file.
const (
	adminUser   = "admin"
	rotatorUser = "rotator"
	doctorUser  = "rotator-doctor"
)

func startControlPlane(ctx context.Context, dir string) (*controlPlane, error) {
	etcdBin, err := binary("etcd")
	if err != nil {
		return nil, err
	}
	apiBin, err := binary("kube-apiserver")
	if err != nil {
		return nil, err
	}
	kcmBin, err := binary("kube-controller-manager")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	cp := &controlPlane{URL: fmt.Sprintf("https://127.0.0.1:%d", apiPort)}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	cp.etcd, err = startProcess("etcd", etcdBin, []string{
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peerPort),
		"--listen-metrics-urls", "", // no extra listener
		"--log-level", "warn",
		// fsync off: a sandbox needs no durability and 2-core CI machines have slow disks.
		"--unsafe-no-fsync",
	}, dir)
	if err != nil {
		return nil, err
	}
	if err := cp.etcd.waitReady(ctx, 30*time.Second, httpOK(http.DefaultClient, etcdURL+"/health")); err != nil {
		cp.stop()
		return nil, err
	}

	secrets, err := writeControlPlaneSecrets(dir)
	if err != nil {
		cp.stop()
		return nil, err
	}
	certDir := filepath.Join(dir, "apiserver-certs")
	cp.AuditLog = filepath.Join(dir, "audit.log")
	cp.apiserver, err = startProcess("kube-apiserver", apiBin, []string{
		"--etcd-servers", etcdURL,
		"--cert-dir", certDir,
		"--secure-port", strconv.Itoa(apiPort),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		// The kubernetes Service endpoints may not be loopback; nothing in the sandbox uses them.
		"--endpoint-reconciler-type", "none",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", secrets.saPub,
		"--service-account-signing-key-file", secrets.saKey,
		"--token-auth-file", secrets.tokens,
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--audit-policy-file", secrets.auditPolicy,
		"--audit-log-path", cp.AuditLog,
		"--audit-log-mode", "blocking",
		"--v", "0",
	}, dir)
	if err != nil {
		cp.stop()
		return nil, err
	}
	cp.CAFile = filepath.Join(certDir, "apiserver.crt")
	if err := cp.apiserver.waitReady(ctx, 90*time.Second, cp.readyz(secrets.adminToken)); err != nil {
		cp.stop()
		return nil, err
	}
	cp.AdminKubeconfig = filepath.Join(dir, "admin.kubeconfig")
	cp.RotatorKubeconfig = filepath.Join(dir, "rotator.kubeconfig")
	cp.DoctorKubeconfig = filepath.Join(dir, "doctor.kubeconfig")
	if err := writeKubeconfig(cp.AdminKubeconfig, cp.URL, cp.CAFile, adminUser, secrets.adminToken); err != nil {
		cp.stop()
		return nil, err
	}
	if err := writeKubeconfig(cp.RotatorKubeconfig, cp.URL, cp.CAFile, rotatorUser, secrets.rotatorToken); err != nil {
		cp.stop()
		return nil, err
	}
	if err := writeKubeconfig(cp.DoctorKubeconfig, cp.URL, cp.CAFile, doctorUser, secrets.doctorToken); err != nil {
		cp.stop()
		return nil, err
	}

	cp.controllers, err = startProcess("kube-controller-manager", kcmBin, []string{
		"--kubeconfig", cp.AdminKubeconfig,
		// All default controllers (deployment, replicaset, statefulset, daemonset, serviceaccount,
		// token, garbage collector...). The node simulator keeps its node's Lease fresh, so the
		// node lifecycle controller can stay on.
		"--controllers", "*",
		"--service-account-private-key-file", secrets.saKey,
		"--root-ca-file", cp.CAFile,
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--secure-port", "0",
		// A sandbox wants rollouts to move at once, not after production-sized sync delays.
		"--concurrent-deployment-syncs", "10",
		"--concurrent-replicaset-syncs", "10",
	}, dir)
	if err != nil {
		cp.stop()
		return nil, err
	}
	return cp, nil
}

func (cp *controlPlane) readyz(token string) func(context.Context) error {
	pool := x509.NewCertPool()
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		ca, err := os.ReadFile(cp.CAFile)
		if err != nil {
			return err // the server has not written its certificate yet
		}
		pool.AppendCertsFromPEM(ca)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cp.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return doOK(client, req)
	}
}

func (cp *controlPlane) stop() {
	// Reverse order of start: controllers, then the API server, then its storage.
	cp.controllers.stop()
	cp.apiserver.stop()
	cp.etcd.stop()
}

func (cp *controlPlane) pids() []int {
	var out []int
	for _, p := range []*process{cp.etcd, cp.apiserver, cp.controllers} {
		if p != nil {
			out = append(out, p.pid())
		}
	}
	return out
}

type controlPlaneSecrets struct {
	saKey, saPub, tokens, auditPolicy     string
	adminToken, rotatorToken, doctorToken string
}

// writeControlPlaneSecrets writes the ServiceAccount signing key pair, the static token file
// (random tokens, so nothing predictable is ever accepted) and the audit policy.
func writeControlPlaneSecrets(dir string) (controlPlaneSecrets, error) {
	s := controlPlaneSecrets{
		saKey:       filepath.Join(dir, "sa.key"),
		saPub:       filepath.Join(dir, "sa.pub"),
		tokens:      filepath.Join(dir, "tokens.csv"),
		auditPolicy: filepath.Join(dir, "audit-policy.yaml"),
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return s, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return s, err
	}
	if err := os.WriteFile(s.saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return s, err
	}
	if err := os.WriteFile(s.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return s, err
	}
	s.adminToken, s.rotatorToken, s.doctorToken = randomHex(24), randomHex(24), randomHex(24)
	tokens := fmt.Sprintf("%s,%s,%s,system:masters\n%s,%s,%s\n%s,%s,%s\n",
		s.adminToken, adminUser, adminUser, s.rotatorToken, rotatorUser, rotatorUser, s.doctorToken, doctorUser, doctorUser)
	if err := os.WriteFile(s.tokens, []byte(tokens), 0o600); err != nil {
		return s, err
	}
	// Metadata level: who did which verb on which object, never request bodies (they hold secrets).
	policy := "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"
	if err := os.WriteFile(s.auditPolicy, []byte(policy), 0o600); err != nil {
		return s, err
	}
	return s, nil
}

func writeKubeconfig(path, server, caFile, user, token string) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: %s@sandbox
  context: {cluster: sandbox, user: %s}
current-context: %s@sandbox
`, server, caFile, user, token, user, user, user)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

func httpOK(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		return doOK(client, req)
	}
}

func doOK(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	return nil
}
