package verify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/internal/verify/verifytest"
)

const (
	goodPass    = "g00d-Secret-Value"
	wrongPass   = "wr0ng-Secret-Value"
	expiredPass = "exp1red-Secret-Value"
)

func users() map[string]verifytest.User {
	return map[string]verifytest.User{
		"robot$team+pull":   {Password: goodPass, Grant: verifytest.GrantPull},
		"robot$team+old":    {Password: expiredPass, Grant: verifytest.GrantNone},
		"robot$other+pull":  {Password: goodPass, Grant: verifytest.GrantDenied},
		"gitlab+deploy-1":   {Password: goodPass, Grant: verifytest.GrantPull},
		"gitlab+deploy-old": {Password: expiredPass, Grant: verifytest.GrantNone},
	}
}

func basic(user, pass string) authn.Authenticator {
	return &authn.Basic{Username: user, Password: pass}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	// Every check here talks to loopback servers; 20 s only bounds a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// requirePullError returns err as *PullError with the given reason, and checks that
// its text holds no password and names the image.
func requirePullError(t *testing.T, err error, image string, want verify.Reason) *verify.PullError {
	t.Helper()
	var pe *verify.PullError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *PullError", err, err)
	}
	if pe.Reason != want {
		t.Fatalf("Reason = %s, want %s; error: %v", pe.Reason, want, err)
	}
	msg := err.Error()
	for _, p := range []string{goodPass, wrongPass, expiredPass} {
		if strings.Contains(msg, p) {
			t.Errorf("error text contains a password: %s", msg)
		}
	}
	if !strings.Contains(msg, image) {
		t.Errorf("error text does not name the image %q: %s", image, msg)
	}
	return pe
}

func TestPullCheck(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users()})
	reg.Push(t, "team/app:1")
	image := reg.Image("team/app:1")
	var c verify.Checker

	tests := []struct {
		name   string
		image  string
		auth   authn.Authenticator
		want   verify.Reason // "" = success
		stage  verify.Stage
		status int
		detail string
	}{
		{"good credential", image, basic("robot$team+pull", goodPass), "", "", 0, ""},
		{"wrong password", image, basic("robot$team+pull", wrongPass), verify.ReasonUnauthorized, verify.StageToken, 401, "UNAUTHORIZED"},
		{"unknown user", image, basic("nobody", goodPass), verify.ReasonUnauthorized, verify.StageToken, 401, "/token"},
		{"expired robot: token issued, manifest refused", image, basic("robot$team+old", expiredPass), verify.ReasonUnauthorized, verify.StageManifest, 401, "UNAUTHORIZED"},
		{"no permission", image, basic("robot$other+pull", goodPass), verify.ReasonDenied, verify.StageManifest, 403, "DENIED"},
		{"anonymous", image, nil, verify.ReasonUnauthorized, verify.StageManifest, 401, ""},
		{"unknown tag", reg.Image("team/app:2"), basic("robot$team+pull", goodPass), verify.ReasonNotFound, verify.StageManifest, 404, "MANIFEST_UNKNOWN"},
		{"unknown repository", reg.Image("team/nope:1"), basic("robot$team+pull", goodPass), verify.ReasonNotFound, verify.StageManifest, 404, "NAME_UNKNOWN"},
		{"invalid reference", "UPPER/case", nil, verify.ReasonOther, "", 0, "invalid image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.PullCheck(ctxT(t), tt.image, tt.auth)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("PullCheck: %v", err)
				}
				return
			}
			pe := requirePullError(t, err, tt.image, tt.want)
			if pe.Stage != tt.stage || pe.Status != tt.status || !strings.Contains(pe.Detail, tt.detail) {
				t.Errorf("Stage, Status, Detail = %q, %d, %q; want %q, %d, containing %q", pe.Stage, pe.Status, pe.Detail, tt.stage, tt.status, tt.detail)
			}
			if tt.status != 0 && pe.Registry != reg.Host {
				t.Errorf("Registry = %q, want %q", pe.Registry, reg.Host)
			}
		})
	}
}

// Harbor refuses an image of a project with a pull policy (signature required,
// vulnerability prevention) with 412 PROJECTPOLICYVIOLATION after authorising the
// pull, to HEAD (no body) and to GET: the check reports ReasonPolicy, which proves
// the credential. A credential that is refused meets the refusal first.
func TestPullCheckProjectPolicy(t *testing.T) {
	const msg = "The image is not signed by cosign."
	reg := verifytest.New(t, verifytest.Options{Users: users(), Policy: map[string]string{"signed/app": msg}})
	reg.Push(t, "signed/app:1")
	image := reg.Image("signed/app:1")
	var c verify.Checker

	err := c.PullCheck(ctxT(t), image, basic("robot$team+pull", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonPolicy)
	if pe.Stage != verify.StageManifest || pe.Status != 412 || !strings.Contains(pe.Detail, msg) {
		t.Errorf("Stage, Status, Detail = %q, %d, %q", pe.Stage, pe.Status, pe.Detail)
	}
	if !strings.Contains(err.Error(), "not a credential failure") {
		t.Errorf("error does not say the credential is fine: %v", err)
	}
	var sawHead, sawGet bool
	for _, r := range reg.Requests() {
		sawHead = sawHead || (r.Method == http.MethodHead && r.Path == "/v2/signed/app/manifests/1" && r.Status == 412)
		sawGet = sawGet || (r.Method == http.MethodGet && r.Path == "/v2/signed/app/manifests/1" && r.Status == 412)
	}
	if !sawHead || !sawGet {
		t.Errorf("HEAD 412 %v, GET 412 %v; requests: %+v", sawHead, sawGet, reg.Requests())
	}

	for _, tt := range []struct {
		name string
		auth authn.Authenticator
		want verify.Reason
	}{
		{"wrong password", basic("robot$team+pull", wrongPass), verify.ReasonUnauthorized},
		{"expired robot", basic("robot$team+old", expiredPass), verify.ReasonUnauthorized},
		{"no permission", basic("robot$other+pull", goodPass), verify.ReasonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_ = requirePullError(t, c.PullCheck(ctxT(t), image, tt.auth), image, tt.want)
		})
	}
}

// The token alone proves nothing: the check must have asked for the manifest with
// the token it got.
func TestPullCheckRequestsManifest(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users()})
	reg.Push(t, "team/app:1")
	if err := (verify.Checker{}).PullCheck(ctxT(t), reg.Image("team/app:1"), basic("robot$team+pull", goodPass)); err != nil {
		t.Fatal(err)
	}
	var sawToken, sawManifest bool
	for _, r := range reg.Requests() {
		sawToken = sawToken || (r.Path == "/token" && r.Auth == "Basic" && r.Status == 200)
		sawManifest = sawManifest || (r.Method == http.MethodHead && r.Path == "/v2/team/app/manifests/1" && r.Auth == "Bearer" && r.Status == 200)
	}
	if !sawToken || !sawManifest {
		t.Errorf("token request %v, manifest HEAD with bearer %v; requests: %+v", sawToken, sawManifest, reg.Requests())
	}
}

func TestPullCheckFallsBackToGet(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users(), DisallowHead: true})
	reg.Push(t, "team/app:1")
	if err := (verify.Checker{UserAgent: "rotator-test"}).PullCheck(ctxT(t), reg.Image("team/app:1"), basic("robot$team+pull", goodPass)); err != nil {
		t.Fatalf("PullCheck with HEAD refused: %v", err)
	}
	var sawGet bool
	for _, r := range reg.Requests() {
		sawGet = sawGet || (r.Method == http.MethodGet && r.Path == "/v2/team/app/manifests/1" && r.Status == 200)
	}
	if !sawGet {
		t.Errorf("no manifest GET after HEAD was refused: %+v", reg.Requests())
	}
}

func TestPullCheckClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	image := addr + "/team/app:1"
	err = (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$team+pull", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonNetwork)
	if !strings.Contains(pe.Detail, "connection refused") {
		t.Errorf("Detail = %q", pe.Detail)
	}
}

func TestPullCheckUnknownHost(t *testing.T) {
	image := "registry.invalid/team/app:1" // .invalid never resolves (RFC 2606)
	err := (verify.Checker{}).PullCheck(ctxT(t), image, nil)
	_ = requirePullError(t, err, image, verify.ReasonNetwork)
}

func TestPullCheckTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	image := strings.TrimPrefix(hang.URL, "http://") + "/team/app:1"
	start := time.Now()
	err := (verify.Checker{}).PullCheck(ctx, image, nil)
	_ = requirePullError(t, err, image, verify.ReasonTimeout)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v despite a 300ms deadline", d)
	}
}

// hangingRegistry accepts connections and never answers, until the test ends.
func hangingRegistry(t *testing.T) string {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	// Runs before Close (cleanups run last first), which waits for the handlers.
	t.Cleanup(func() { close(release) })
	return strings.TrimPrefix(hang.URL, "http://")
}

// runGuarded runs check and fails the test if it has not returned within limit,
// so a missing deadline fails the test instead of hanging it.
func runGuarded(t *testing.T, limit time.Duration, check func() error) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- check() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("check still running after %v: no deadline", limit)
		return 0, nil
	}
}

// A registry that accepts the connection and never answers fails the check within
// Checker.Timeout, although the caller's context has no deadline.
func TestPullCheckStalledRegistry(t *testing.T) {
	image := hangingRegistry(t) + "/team/app:1"
	c := verify.Checker{Timeout: 200 * time.Millisecond}
	took, err := runGuarded(t, 10*time.Second, func() error {
		return c.PullCheck(t.Context(), image, basic("robot$team+pull", goodPass))
	})
	pe := requirePullError(t, err, image, verify.ReasonTimeout)
	if !strings.Contains(pe.Detail, "200ms deadline (Checker.Timeout)") {
		t.Errorf("Detail does not name the check's deadline: %q", pe.Detail)
	}
	if took > 3*time.Second {
		t.Errorf("took %v with a 200ms Timeout", took)
	}
	if verify.CredentialRefused(err) || verify.Authorised(err) {
		t.Errorf("a stalled registry judged the credential: refused %v, authorised %v", verify.CredentialRefused(err), verify.Authorised(err))
	}
}

// The same for the kubelet-like check, which may try several credentials: the
// Timeout bounds the whole call.
func TestPullCheckAsKubeletStalledRegistry(t *testing.T) {
	host := hangingRegistry(t)
	image := host + "/team/app:1"
	secrets := []corev1.Secret{
		pullSecret(t, "new", host, "robot$team+pull", goodPass),
		pullSecret(t, "old", host, "robot$team+old", expiredPass),
	}
	c := verify.Checker{Timeout: 200 * time.Millisecond}
	took, err := runGuarded(t, 10*time.Second, func() error {
		return c.PullCheckAsKubelet(t.Context(), image, secrets)
	})
	pe := requirePullError(t, err, image, verify.ReasonTimeout)
	if !strings.Contains(pe.Detail, "Checker.Timeout") {
		t.Errorf("Detail does not name the check's deadline: %q", pe.Detail)
	}
	if took > 3*time.Second {
		t.Errorf("took %v with a 200ms Timeout for the whole call", took)
	}
}

// go-containerregistry refuses a realm on a loopback IP literal on another port
// (GitLab's /jwt/auth on an IP-literal host); the check does the token exchange
// itself and accepts it (issue 14, item 15): the credential goes to that realm,
// the realm of the registry's own challenge. On main: ReasonRealmRefused.
func TestPullCheckRealmOnOtherLoopbackPort(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users()})
	reg.Push(t, "team/app:1")
	tokenSrv := httptest.NewServer(reg.TokenHandler())
	defer tokenSrv.Close()
	reg.SetRealm(tokenSrv.URL + "/token") // http://127.0.0.1:<other port>/token
	image := reg.Image("team/app:1")

	if err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$team+pull", goodPass)); err != nil {
		t.Fatalf("PullCheck with a realm on another loopback port: %v", err)
	}
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$team+pull", wrongPass))
	pe := requirePullError(t, err, image, verify.ReasonUnauthorized)
	if pe.Stage != verify.StageToken {
		t.Errorf("Stage = %q", pe.Stage)
	}
}

// The same token service under a host name on another port is accepted as well.
func TestPullCheckRealmUnderHostName(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users()})
	reg.Push(t, "team/app:1")
	tokenSrv := httptest.NewServer(reg.TokenHandler())
	defer tokenSrv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(tokenSrv.URL, "http://"))
	reg.SetRealm("http://localhost:" + port + "/token")
	if err := (verify.Checker{}).PullCheck(ctxT(t), reg.Image("team/app:1"), basic("robot$team+pull", goodPass)); err != nil {
		t.Fatalf("PullCheck with a host-name realm: %v", err)
	}
}

// dialTo sends every connection to target, whatever host the URL names, so a test
// can address a loopback server by a name that is not a loopback literal.
func dialTo(target string, tlsConfig *tls.Config) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, target)
		},
		TLSClientConfig: tlsConfig,
	}
}

func TestPullCheckTLS(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users(), TLS: true})
	reg.Push(t, "team/app:1")
	_, port, _ := net.SplitHostPort(reg.Host)
	// httptest's certificate is for example.com; as a name that is not loopback, it
	// makes go-containerregistry use https only.
	image := "example.com:" + port + "/team/app:1"
	auth := basic("robot$team+pull", goodPass)

	untrusted := verify.Checker{Transport: dialTo(reg.Host, nil)}
	pe := requirePullError(t, untrusted.PullCheck(ctxT(t), image, auth), image, verify.ReasonTLS)
	if !strings.Contains(pe.Detail, "x509") {
		t.Errorf("Detail = %q", pe.Detail)
	}

	pool := x509.NewCertPool()
	pool.AddCert(reg.Server.Certificate())
	trusted := verify.Checker{Transport: dialTo(reg.Host, &tls.Config{RootCAs: pool})}
	if err := trusted.PullCheck(ctxT(t), image, auth); err != nil {
		t.Fatalf("PullCheck with the CA trusted: %v", err)
	}
}

// On loopback go-containerregistry tries https and http together; against a TLS
// server the certificate failure, not the 400 of the http attempt, must be reported.
func TestPullCheckTLSOnLoopback(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users(), TLS: true})
	image := reg.Image("team/app:1")
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$team+pull", goodPass))
	requirePullError(t, err, image, verify.ReasonTLS)
}

// A token service that echoes the password must not get it into the error text.
func TestPullCheckScrubsEchoedPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_, pass, _ := r.BasicAuth()
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":"password %s is wrong"}]}`, pass)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="echo"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/app:1"
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$team+pull", wrongPass))
	pe := requirePullError(t, err, image, verify.ReasonUnauthorized)
	if !strings.Contains(pe.Detail, "password [redacted] is wrong") {
		t.Errorf("Detail = %q", pe.Detail)
	}
}

// go-containerregistry pings /v2/ without any credential, so a refusal there (a
// proxy, firewall or IP allow-list in front of the registry) says nothing about
// the credential and must not make the core revoke it.
func TestPullCheckPingRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("credential sent to %s", r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"access from this address is denied"}]}`)
	}))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/app:1"
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$team+pull", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonOther)
	if pe.Stage != verify.StagePing || pe.Status != http.StatusForbidden {
		t.Errorf("Stage, Status = %q, %d", pe.Stage, pe.Status)
	}
	if !strings.Contains(err.Error(), "before any credential was sent") || !strings.Contains(pe.Detail, "access from this address is denied") {
		t.Errorf("error does not say the credential was not sent: %v", err)
	}
	if verify.CredentialRefused(err) || verify.Authorised(err) {
		t.Errorf("refused %v, authorised %v; want neither: %v", verify.CredentialRefused(err), verify.Authorised(err), err)
	}
}
