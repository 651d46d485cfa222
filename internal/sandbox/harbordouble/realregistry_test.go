package harbordouble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

const registryBinary = "/usr/bin/docker-registry" // Debian's docker-registry, distribution 2.8

// TestRealRegistry runs the double in front of a real distribution 2.8 registry with token
// auth, as the sandbox rig does, and checks that what the token service grants is what the
// registry enforces: a robot pulls its project only, and a refreshed, expired or deleted robot
// pulls nothing although the token service still answers 200. The registry binary is required
// (apt-get install docker-registry; .ci/run installs it): a missing one fails, never skips.
func TestRealRegistry(t *testing.T) {
	if _, err := os.Stat(registryBinary); err != nil {
		t.Fatalf("no %s (apt-get install docker-registry): %v", registryBinary, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	regURL := startRegistry(t, "http://"+host+"/service/token")

	c := &clock{t: time.Now()}
	s, err := New(Options{
		AdminUsername: adminUser, AdminPassword: adminPass, Projects: []string{"proj-a", "proj-b"},
		Registry: regURL, Issuer: testIssuer(), Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	srv.Start()
	t.Cleanup(srv.Close)
	f := &fixture{t: t, s: s, srv: srv, clock: c}

	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(p string) name.Reference {
		r, err := name.NewTag(host+"/"+p+"/app:1.0", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	auth := func(c cred) remote.Option {
		return remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: c.user, Password: c.pass}))
	}
	for _, p := range []string{"proj-a", "proj-b"} {
		if err := remote.Write(ref(p), img, auth(admin)); err != nil {
			t.Fatalf("admin push %s: %v", p, err)
		}
	}
	pull := func(c cred, p string) error {
		_, err := remote.Get(ref(p), auth(c))
		return err
	}
	wantDenied := func(what string, err error) {
		t.Helper()
		var terr *transport.Error
		if !errors.As(err, &terr) || (terr.StatusCode != http.StatusUnauthorized && terr.StatusCode != http.StatusForbidden) {
			t.Errorf("%s: err = %v, want the registry's 401/403", what, err)
		}
	}

	got := f.createRobot(pullRobot("ci", "proj-a", 1))
	robot := cred{got.Name, got.Secret}
	if err := pull(robot, "proj-a"); err != nil {
		t.Fatalf("robot pulls its project: %v", err)
	}
	wantDenied("robot of proj-a pulls proj-b", pull(robot, "proj-b"))
	other, err := random.Image(256, 1) // not in the registry yet: the push must really upload
	if err != nil {
		t.Fatal(err)
	}
	wantDenied("robot pushes", remote.Write(ref("proj-a"), other, auth(robot)))

	var sec struct{ Secret string }
	f.do("PATCH", "/api/v2.0/robots/1", map[string]any{}, admin).decode(t, &sec)
	wantDenied("old secret after refresh", pull(robot, "proj-a"))
	robot.pass = sec.Secret
	if err := pull(robot, "proj-a"); err != nil {
		t.Fatalf("new secret: %v", err)
	}

	c.Advance(25 * time.Hour)
	wantDenied("expired robot", pull(robot, "proj-a"))
	c.Advance(-25 * time.Hour)
	f.do("DELETE", "/api/v2.0/robots/1", nil, admin)
	wantDenied("deleted robot", pull(robot, "proj-a"))
	wantDenied("anonymous", pull(cred{}, "proj-a"))
}

// startRegistry runs the registry on a free loopback port with token auth trusting the test
// issuer, and returns its URL once /v2/ answers 401.
func startRegistry(t *testing.T, realm string) *url.URL {
	t.Helper()
	dir := t.TempDir()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	cert := filepath.Join(dir, "token.pem")
	if err := os.WriteFile(cert, testIssuer().CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: %s, relativeurls: true}
auth:
  token: {realm: %q, service: harbor-registry, issuer: harbor-token-issuer, rootcertbundle: %s}
`, filepath.Join(dir, "data"), addr, realm, cert)
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, registryBinary, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("registry log:\n%s", out)
		}
	})

	u := &url.URL{Scheme: "http", Host: addr}
	// The registry takes well under a second to listen; ten seconds covers a loaded machine.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u.String() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return u
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("registry did not answer /v2/ with 401 within 10s")
	return nil
}
