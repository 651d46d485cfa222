package harbordouble

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// registryFixture is a double in front of an in-memory registry holding proj-a/app:1.0 and
// proj-b/app:1.0, pushed as the admin.
func registryFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	regURL, _ := url.Parse(reg.URL)
	f := newFixture(t, func(o *Options) { o.Registry = regURL })
	host := strings.TrimPrefix(f.srv.URL, "http://")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"proj-a", "proj-b"} {
		tag, _ := name.NewTag(host+"/"+p+"/app:1.0", name.Insecure)
		if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: adminUser, Password: adminPass})); err != nil {
			t.Fatalf("push as admin: %v", err)
		}
	}
	return f, host
}

// rawToken gets a registry token for c and scope.
func (f *fixture) rawToken(c cred, scope string) string {
	f.t.Helper()
	r := f.do("GET", "/service/token?service=harbor-registry&scope="+url.QueryEscape(scope), nil, c)
	var tr registrytoken.Response
	r.decode(f.t, &tr)
	return tr.Token
}

func (f *fixture) manifest(method, path, token string) reply {
	f.t.Helper()
	hdr := []string{"Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"}
	if token != "" {
		hdr = append(hdr, "Authorization", "Bearer "+token)
	}
	return f.do(method, path, nil, cred{}, hdr...)
}

func pull(host, ref string, auth authn.Authenticator) error {
	tag, err := name.NewTag(host+"/"+ref, name.Insecure)
	if err != nil {
		return err
	}
	_, err = remote.Image(tag, remote.WithAuth(auth))
	return err
}

// /v2/ is authorised before anything: no token, or one without the action, gets 401 with the
// challenge, a missing project too; a missing tag answers Harbor's 404 NOT_FOUND.
func TestRegistryAuthorisesFirst(t *testing.T) {
	f, host := registryFixture(t)
	r := f.manifest("GET", "/v2/proj-a/app/manifests/1.0", "")
	r.wantError(t, 401, "UNAUTHORIZED", "unauthorized to access repository: proj-a/app, action: pull")
	if ch := r.header.Get("Www-Authenticate"); ch != `Bearer realm="`+f.srv.URL+`/service/token",service="harbor-registry",scope="repository:proj-a/app:pull"` {
		t.Fatalf("challenge = %q", ch)
	}
	if r := f.manifest("GET", "/v2/proj-a/app/manifests/1.0", f.rawToken(admin, "repository:proj-a/app:pull")); r.status != 200 {
		t.Fatalf("admin pull: %d %s", r.status, r.body)
	}
	f.manifest("GET", "/v2/nope/app/manifests/1.0", f.rawToken(admin, "repository:nope/app:pull")).
		wantError(t, 401, "UNAUTHORIZED", "unauthorized to access repository: nope/app")
	f.manifest("GET", "/v2/proj-a/app/manifests/2.0", f.rawToken(admin, "repository:proj-a/app:pull")).
		wantError(t, 404, "NOT_FOUND", "artifact proj-a/app:2.0 not found")
	if r := f.manifest("HEAD", "/v2/proj-a/app/manifests/2.0", f.rawToken(admin, "repository:proj-a/app:pull")); r.status != 404 || len(r.body) != 0 {
		t.Fatalf("HEAD of a missing tag: %d %q", r.status, r.body)
	}
	if err := pull(host, "proj-a/app:1.0", authn.Anonymous); err == nil {
		t.Fatal("anonymous pull of a private project worked")
	}
}

// A public project gives pull to anyone: anonymous, and a wrong password (which the token
// service takes for anonymous). Without a scope a wrong password still gets 401.
func TestPublicProject(t *testing.T) {
	f, host := registryFixture(t)
	if err := f.s.SetProjectPublic("proj-a", true); err != nil {
		t.Fatal(err)
	}
	wrong := &authn.Basic{Username: adminUser, Password: "wrong"}
	for name, auth := range map[string]authn.Authenticator{"anonymous": authn.Anonymous, "wrong password": wrong} {
		if err := pull(host, "proj-a/app:1.0", auth); err != nil {
			t.Errorf("%s pull of a public project: %v", name, err)
		}
		if err := pull(host, "proj-b/app:1.0", auth); err == nil {
			t.Errorf("%s pull of a private project worked", name)
		}
	}
	if status, claims := f.token(cred{adminUser, "wrong"}, "repository:proj-a/app:pull"); status != 200 || claims.Subject != "" ||
		!equalJSON(claims.Actions("repository", "proj-a/app"), []string{"pull"}) {
		t.Fatalf("wrong password on a public project: %d %+v", status, claims)
	}
	if status, _ := f.token(cred{adminUser, "wrong"}); status != http.StatusUnauthorized {
		t.Fatalf("wrong password without scope: %d", status)
	}
	if r := f.do("GET", "/api/v2.0/projects/proj-a", nil, cred{}); r.status != 200 {
		t.Fatalf("anonymous read of a public project: %d", r.status)
	}
	f.do("GET", "/api/v2.0/projects/proj-b", nil, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	if err := f.s.SetProjectPublic("nope", true); err == nil {
		t.Fatal("unknown project accepted")
	}
}

// A pull policy answers an authorised manifest request 412 PROJECTPOLICYVIOLATION (HEAD bare);
// an unauthorised one still gets 401, a missing tag 404.
func TestProjectPolicy(t *testing.T) {
	for name, policy := range map[string]Policy{"signature": {SignatureRequired: true}, "vulnerability": {PreventVulnerable: true}} {
		t.Run(name, func(t *testing.T) {
			f, _ := registryFixture(t)
			if err := f.s.SetProjectPolicy("proj-a", policy); err != nil {
				t.Fatal(err)
			}
			rb := f.createRobot(pullRobot("ci", "proj-a", 30))
			tok := f.rawToken(cred{rb.Name, rb.Secret}, "repository:proj-a/app:pull")
			f.manifest("GET", "/v2/proj-a/app/manifests/1.0", tok).wantError(t, 412, "PROJECTPOLICYVIOLATION", "")
			if r := f.manifest("HEAD", "/v2/proj-a/app/manifests/1.0", tok); r.status != 412 || len(r.body) != 0 {
				t.Fatalf("HEAD: %d %q", r.status, r.body)
			}
			f.manifest("GET", "/v2/proj-a/app/manifests/1.0", "").wantError(t, 401, "UNAUTHORIZED", "unauthorized")
			f.manifest("GET", "/v2/proj-a/app/manifests/1.0", f.rawToken(cred{rb.Name, "wrong"}, "repository:proj-a/app:pull")).
				wantError(t, 401, "UNAUTHORIZED", "unauthorized")
			f.manifest("GET", "/v2/proj-a/app/manifests/2.0", tok).wantError(t, 404, "NOT_FOUND", "not found")
			// Other projects and blobs are not affected.
			if r := f.manifest("GET", "/v2/proj-b/app/manifests/1.0", f.rawToken(admin, "repository:proj-b/app:pull")); r.status != 200 {
				t.Fatalf("proj-b: %d", r.status)
			}
			if err := f.s.SetProjectPolicy("proj-a", Policy{}); err != nil {
				t.Fatal(err)
			}
			if r := f.manifest("GET", "/v2/proj-a/app/manifests/1.0", tok); r.status != 200 {
				t.Fatalf("policy off: %d", r.status)
			}
		})
	}
}
