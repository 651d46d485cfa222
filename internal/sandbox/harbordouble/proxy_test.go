package harbordouble

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// hostRecorder wraps a registry and remembers the Host and X-Forwarded-Host it was sent.
type hostRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	hosts map[string]bool
	fwd   map[string]bool
}

func (h *hostRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.hosts[r.Host] = true
	h.fwd[r.Header.Get("X-Forwarded-Host")] = true
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

// The double fronts a registry on its own host:port: an image pushed and pulled through it
// reaches the registry with the double's Host, and upload locations point back at the double.
// go-containerregistry's in-memory registry has no auth; the real, token-checking registry is
// wired in by the sandbox rig.
func TestRegistryProxy(t *testing.T) {
	rec := &hostRecorder{next: registry.New(), hosts: map[string]bool{}, fwd: map[string]bool{}}
	reg := httptest.NewServer(rec)
	t.Cleanup(reg.Close)
	regURL, _ := url.Parse(reg.URL)
	f := newFixture(t, func(o *Options) { o.Registry = regURL })
	host := strings.TrimPrefix(f.srv.URL, "http://")

	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host+"/proj-a/app:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	adminAuth := remote.WithAuth(&authn.Basic{Username: adminUser, Password: adminPass})
	if err := remote.Write(tag, img, adminAuth); err != nil {
		t.Fatalf("push through the double: %v", err)
	}
	pulled, err := remote.Image(tag, adminAuth)
	if err != nil {
		t.Fatalf("pull through the double: %v", err)
	}
	want, _ := img.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Fatalf("pulled %s, pushed %s", got, want)
	}

	rec.mu.Lock()
	hosts, fwd := rec.hosts, rec.fwd
	rec.mu.Unlock()
	if len(hosts) != 1 || !hosts[host] || !fwd[host] {
		t.Fatalf("registry saw Host %v, X-Forwarded-Host %v; want only %s", hosts, fwd, host)
	}

	r := f.do("POST", "/v2/proj-a/app/blobs/uploads/", nil, cred{},
		"Authorization", "Bearer "+f.rawToken(admin, "repository:proj-a/app:push"))
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusAccepted || err != nil || (loc.Host != "" && loc.Host != host) {
		t.Fatalf("upload start: %d Location %q", r.status, r.header.Get("Location"))
	}

	var sawV2 bool
	for _, req := range f.s.Requests() {
		if strings.HasPrefix(req.EscapedPath, "/v2/") && req.Body == nil {
			sawV2 = true
		}
	}
	if !sawV2 {
		t.Error("/v2/ requests not recorded")
	}
}

func TestRegistryProxyWithoutRegistry(t *testing.T) {
	f := newFixture(t)
	f.do("GET", "/v2/", nil, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	f.do("GET", "/v2/", nil, cred{}, "Authorization", "Bearer "+f.rawToken(admin, "repository:proj-a/app:pull")).
		wantError(t, 502, "UNKNOWN", "internal server error")
}

func TestRegistryProxyRegistryDown(t *testing.T) {
	reg := httptest.NewServer(http.NotFoundHandler())
	regURL, _ := url.Parse(reg.URL)
	reg.Close()
	f := newFixture(t, func(o *Options) { o.Registry = regURL })
	if r := f.do("GET", "/v2/", nil, cred{}, "Authorization", "Bearer "+f.rawToken(admin, "repository:proj-a/app:pull")); r.status != http.StatusBadGateway {
		t.Fatalf("status %d", r.status)
	}
}
