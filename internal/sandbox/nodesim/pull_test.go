package nodesim

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
)

// recordingRegistry is go-containerregistry's in-memory registry, optionally behind basic auth
// (user set), recording each request as "METHOD /path".
type recordingRegistry struct {
	next       http.Handler
	user, pass string

	mu   sync.Mutex
	reqs []string
}

func (r *recordingRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	if r.user != "" {
		if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="nodesim-test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
	}
	r.next.ServeHTTP(w, req)
}

func (r *recordingRegistry) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func (r *recordingRegistry) reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

// startRegistry serves a registry holding one image at team/app:v1 and returns its host:port.
func startRegistry(t *testing.T, user, pass string) (*recordingRegistry, string) {
	t.Helper()
	rec := &recordingRegistry{next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), user: user, pass: pass}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/team/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.Anonymous
	if user != "" {
		auth = &authn.Basic{Username: user, Password: pass}
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push test image: %v", err)
	}
	rec.reset()
	return rec, host
}

func TestRegistryPullRequestsManifest(t *testing.T) {
	rec, host := startRegistry(t, "", "")
	pull := RegistryPull(true)
	anonymous := authn.NewMultiKeychain()

	if err := pull(t.Context(), host+"/team/app:v1", anonymous); err != nil {
		t.Fatalf("pull: %v", err)
	}
	reqs := rec.requests()
	if !slices.Contains(reqs, "GET /v2/team/app/manifests/v1") {
		t.Errorf("requests %v, want a GET of the manifest", reqs)
	}
	for _, r := range reqs {
		if strings.Contains(r, "/blobs/") {
			t.Errorf("request %q: layers must not be fetched", r)
		}
	}

	err := pull(t.Context(), host+"/team/app:missing", anonymous)
	if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("pull of a missing tag: %v, want MANIFEST_UNKNOWN", err)
	}
}

func TestRegistryPullAuthenticatesWithPullSecret(t *testing.T) {
	const user, pass = "robot$team+ci", "s3cret"
	_, host := startRegistry(t, user, pass)
	pull := RegistryPull(true)
	keychain := func(password string) authn.Keychain {
		t.Helper()
		secret := corev1.Secret{
			Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil,
				`{"auths":{%q:{"username":%q,"password":%q}}}`, host, user, password)},
		}
		kc, err := kauth.NewFromPullSecrets(context.Background(), []corev1.Secret{secret})
		if err != nil {
			t.Fatal(err)
		}
		return kc
	}

	if err := pull(t.Context(), host+"/team/app:v1", keychain(pass)); err != nil {
		t.Errorf("pull with the right secret: %v", err)
	}
	for what, kc := range map[string]authn.Keychain{"wrong password": keychain("old"), "no secret": authn.NewMultiKeychain()} {
		err := pull(t.Context(), host+"/team/app:v1", kc)
		if err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
			t.Errorf("pull with %s: %v, want UNAUTHORIZED", what, err)
		}
	}
}
