// Package verifytest provides a container registry double with Bearer token auth,
// shaped like Harbor's and GitLab's: an in-memory go-containerregistry registry
// behind a token endpoint on the same host:port, which hands a token to a basic
// credential, and a registry that honours the token or not depending on the user.
// It records every request it gets.
package verifytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Grant is what the token issued to a user is worth at the registry.
type Grant int

const (
	// GrantPull: the token works.
	GrantPull Grant = iota
	// GrantNone: the token endpoint answers 200, but the registry answers 401 to the
	// token, as Harbor and GitLab do for an expired robot or token.
	GrantNone
	// GrantDenied: the registry answers 403 DENIED to the token.
	GrantDenied
)

// User is one account of the token endpoint.
type User struct {
	Password string
	Grant    Grant
}

// Options configures a Registry.
type Options struct {
	// Users maps usernames to accounts. Requests without basic auth get an
	// anonymous token worth GrantNone.
	Users map[string]User
	// TLS serves https with httptest's self-signed certificate.
	TLS bool
	// DisallowHead answers 405 to manifest HEAD requests, like some proxies.
	DisallowHead bool
	// Policy maps a repository ("team/app") to the message of Harbor's 412
	// PROJECTPOLICYVIOLATION, which every manifest request of that repository gets
	// once its token has passed (after authorisation, as Harbor's contenttrust and
	// vulnerable middlewares answer): with the error body to GET, without a body to
	// HEAD.
	Policy map[string]string
}

// Request is one request the double received.
type Request struct {
	Method string
	Path   string // escaped path
	Auth   string // the Authorization scheme ("Basic", "Bearer") or ""
	Status int
}

// Registry is a running double. Its Host is "127.0.0.1:<port>".
type Registry struct {
	Host string
	URL  string
	// Server is the fronting server, e.g. for its Certificate or Client.
	Server *httptest.Server

	opts     Options
	inner    http.Handler
	backdoor *httptest.Server

	mu     sync.Mutex
	realm  string
	tokens map[string]Grant
	reqs   []Request
}

// New starts a Registry and stops it when the test ends.
func New(t testing.TB, opts Options) *Registry {
	t.Helper()
	r := &Registry{
		opts:   opts,
		inner:  registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		tokens: map[string]Grant{},
	}
	mux := http.NewServeMux()
	mux.Handle("/token", r.TokenHandler())
	mux.HandleFunc("/v2/", r.serveRegistry)
	h := r.record(mux)
	r.Server = httptest.NewUnstartedServer(h)
	// A client that refuses the certificate makes the server log a handshake
	// error; that is the point of such a test, not news.
	r.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS {
		r.Server.StartTLS()
	} else {
		r.Server.Start()
	}
	// The backdoor serves the same storage without auth, to seed images.
	r.backdoor = httptest.NewServer(r.inner)
	t.Cleanup(r.backdoor.Close)
	t.Cleanup(r.Server.Close)
	r.URL = r.Server.URL
	r.Host = strings.TrimPrefix(strings.TrimPrefix(r.URL, "http://"), "https://")
	return r
}

// SetRealm makes the registry announce realm as its token endpoint. By default it
// announces /token on the host the request was sent to.
func (r *Registry) SetRealm(realm string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.realm = realm
}

// Push stores a random image under repoTag ("team/app:1") and returns it.
func (r *Registry) Push(t testing.TB, repoTag string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(r.backdoor.URL, "http://") + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	return img
}

// Image returns the reference of repoTag on this registry.
func (r *Registry) Image(repoTag string) string { return r.Host + "/" + repoTag }

// Requests returns the requests received so far.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// TokenHandler is the token endpoint, to mount on another server as well.
func (r *Registry) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		grant := GrantNone // anonymous: a token without access, as distribution's token servers do
		if user, pass, ok := req.BasicAuth(); ok {
			u, known := r.opts.Users[user]
			if !known || u.Password != pass {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
				return
			}
			grant = u.Grant
		}
		tok := randomToken()
		r.mu.Lock()
		r.tokens[tok] = grant
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":%q,"access_token":%q,"expires_in":300}`, tok, tok)
	})
}

func (r *Registry) serveRegistry(w http.ResponseWriter, req *http.Request) {
	tok, hasBearer := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	r.mu.Lock()
	grant, known := r.tokens[tok]
	r.mu.Unlock()
	switch {
	case !hasBearer || !known:
		r.challenge(w, req, "")
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	case grant == GrantNone:
		r.challenge(w, req, "insufficient_scope")
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	case grant == GrantDenied:
		writeError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
	case r.opts.DisallowHead && req.Method == http.MethodHead && strings.Contains(req.URL.Path, "/manifests/"):
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.policyRefuses(req) != "":
		if req.Method == http.MethodHead {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		writeError(w, http.StatusPreconditionFailed, "PROJECTPOLICYVIOLATION", r.policyRefuses(req))
	default:
		r.inner.ServeHTTP(w, req)
	}
}

// policyRefuses returns the policy message for a manifest request of a repository
// under Options.Policy, or "".
func (r *Registry) policyRefuses(req *http.Request) string {
	repo, _, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/manifests/")
	if !ok {
		return ""
	}
	return r.opts.Policy[repo]
}

// challenge sets the WWW-Authenticate header distribution sends.
func (r *Registry) challenge(w http.ResponseWriter, req *http.Request, errCode string) {
	r.mu.Lock()
	realm := r.realm
	r.mu.Unlock()
	if realm == "" {
		scheme := "http"
		if req.TLS != nil {
			scheme = "https"
		}
		realm = scheme + "://" + req.Host + "/token"
	}
	v := fmt.Sprintf(`Bearer realm=%q,service="test"`, realm)
	if repo, _, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/manifests/"); ok {
		v += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
	}
	if errCode != "" {
		v += fmt.Sprintf(`,error=%q`, errCode)
	}
	w.Header().Set("WWW-Authenticate", v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// record wraps h to remember each request and its status.
func (r *Registry) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, req)
		scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
		r.mu.Lock()
		r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.EscapedPath(), Auth: scheme, Status: sw.status})
		r.mu.Unlock()
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
