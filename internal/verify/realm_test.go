package verify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/verify"
)

// GitLab serves /jwt/auth on its own host, here an IP literal on another port than
// the registry's, which go-containerregistry refuses (issue 14, item 15): the check
// does the exchange itself and reaches it. The password goes to the realm only.
// On main the good credential fails with ReasonRealmRefused.
func TestPullCheckGitLabRealmOnIPLiteral(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: fakeUsers(), Images: fakeImages})
	if !strings.HasPrefix(f.realm, "http://127.0.0.1:") || strings.Contains(f.realm, f.Host) {
		t.Fatalf("realm %s is not on another port of an IP literal", f.realm)
	}
	image := f.image("priv/app:1")
	if err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$priv+pull", goodPass)); err != nil {
		t.Fatalf("PullCheck: %v", err)
	}
	for _, r := range f.requests() {
		if r.Server == "registry" && r.Auth == "Basic" {
			t.Errorf("the registry got the basic credential: %+v", r)
		}
		if r.Server == "token" && r.Auth != "Basic" {
			t.Errorf("token request without the credential: %+v", r)
		}
	}

	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$priv+pull", wrongPass))
	pe := requirePullError(t, err, image, verify.ReasonUnauthorized)
	if pe.Stage != verify.StageToken || pe.Status != http.StatusUnauthorized || !strings.Contains(pe.Detail, "/jwt/auth") {
		t.Errorf("Stage, Status, Detail = %q, %d, %q", pe.Stage, pe.Status, pe.Detail)
	}
	if n := f.failedLogins(); n != 1 {
		t.Errorf("%d failed /jwt/auth requests, want 1 (each counts toward GitLab's IP ban)", n)
	}
}

// An http realm for a registry reached over https would carry the password in
// clear: refused before it is sent, unless Checker.Insecure. On main the Insecure
// case fails too (the realm is a loopback IP literal on another port).
func TestPullCheckHTTPRealmForHTTPSRegistry(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: fakeUsers(), Images: fakeImages, TLS: true})
	image := f.image("priv/app:1")
	auth := basic("robot$priv+pull", goodPass)

	c := verify.Checker{Transport: f.Registry.Client().Transport}
	err := c.PullCheck(ctxT(t), image, auth)
	pe := requirePullError(t, err, image, verify.ReasonRealmRefused)
	for _, want := range []string{"uses http", "in clear", "not a bad credential", "Checker.Insecure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if pe.Stage != verify.StagePing || len(f.tokenRequests()) != 0 || verify.CredentialRefused(err) || verify.Authorised(err) {
		t.Errorf("Stage %q, %d token requests, refused %v, authorised %v", pe.Stage, len(f.tokenRequests()),
			verify.CredentialRefused(err), verify.Authorised(err))
	}

	c.Insecure = true
	if err := c.PullCheck(ctxT(t), image, auth); err != nil {
		t.Fatalf("PullCheck with Insecure: %v", err)
	}
}

// guardTransport fails the test when a request goes to a host it must not reach.
type guardTransport struct {
	t         *testing.T
	forbidden string
}

func (g guardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Host, g.forbidden) {
		g.t.Errorf("request to %s", r.URL)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A realm on a link-local or unspecified address (the cloud metadata service, in
// any spelling a resolver accepts) is still refused, before the credential is sent.
func TestPullCheckLinkLocalRealm(t *testing.T) {
	for _, tt := range []struct{ realm, host string }{
		{"http://169.254.169.254/latest/meta-data", "169.254.169.254"},
		{"http://0xa9fea9fe/token", "0xa9fea9fe"},
		{"http://0251.0376.0251.0376/token", "0251.0376.0251.0376"},
		{"http://169.254.43518/token", "169.254.43518"},
		{"http://[fe80::1]:8080/token", "fe80::1"},
		{"http://0.0.0.0:8080/token", "0.0.0.0"},
	} {
		t.Run(tt.host, func(t *testing.T) {
			f := newFakeRegistry(t, fakeOptions{Users: fakeUsers(), Images: fakeImages, Realm: tt.realm})
			image := f.image("priv/app:1")
			c := verify.Checker{Transport: guardTransport{t: t, forbidden: tt.host}}
			err := c.PullCheck(ctxT(t), image, basic("robot$priv+pull", goodPass))
			_ = requirePullError(t, err, image, verify.ReasonRealmRefused)
			for _, want := range []string{"link-local", "metadata", "not a bad credential"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
		})
	}
}

// A token service that redirects the token request to another host does not get
// the credential carried along: the check refuses the redirect.
func TestPullCheckTokenRedirect(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect target was reached: %s %s (with Authorization: %v)", r.Method, r.URL, r.Header.Get("Authorization") != "")
	}))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/token?"+r.URL.RawQuery, http.StatusFound)
	}))
	defer redirector.Close()
	f := newFakeRegistry(t, fakeOptions{Users: fakeUsers(), Images: fakeImages, Realm: redirector.URL + "/token"})
	image := f.image("priv/app:1")
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$priv+pull", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonRealmRefused)
	if pe.Stage != verify.StageToken || !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), "not a bad credential") {
		t.Errorf("Stage %q: %v", pe.Stage, err)
	}
}
