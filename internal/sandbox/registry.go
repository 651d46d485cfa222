package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// registryServer is the CNCF distribution registry (v3, cmd/registry, built by
// hack/build-tools.sh) with token auth: it trusts only tokens signed by the Harbor double's token
// service (or the GitLab double's), as a registry behind Harbor's or GitLab's token realm does.
type registryServer struct {
	proc *process
	// URL is the registry's own address. Users never pull from it directly: they go through the
	// Harbor double, which fronts /v2/ and /service/token on one host:port like Harbor does.
	URL string
}

type registryAuth struct {
	realm, service, issuer string
	rootCertPEM            []byte
}

func startRegistry(ctx context.Context, dir string, auth registryAuth) (*registryServer, error) {
	bin, err := binary("registry")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "registry")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	certFile := filepath.Join(root, "token-signer.pem")
	if err := os.WriteFile(certFile, auth.rootCertPEM, 0o600); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	config := fmt.Sprintf(`version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: %s}
  delete: {enabled: true}
http:
  addr: %s
  # Relative Location headers: the Harbor double proxies /v2/ under its own host:port.
  relativeurls: true
auth:
  token:
    realm: %s
    service: %s
    issuer: %s
    rootcertbundle: %s
`, filepath.Join(root, "data"), addr, auth.realm, auth.service, auth.issuer, certFile)
	configFile := filepath.Join(root, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	p, err := startProcess("registry", bin, []string{"serve", configFile}, dir)
	if err != nil {
		return nil, err
	}
	r := &registryServer{proc: p, URL: "http://" + addr}
	// /v2/ answers 401 to an anonymous client once the registry serves: that is "ready".
	ready := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("registry /v2/ answered %s, want 401 (token auth)", resp.Status)
		}
		return nil
	}
	if err := p.waitReady(ctx, 20*time.Second, ready); err != nil {
		p.stop()
		return nil, err
	}
	return r, nil
}
