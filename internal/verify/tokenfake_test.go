package verify_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// This file holds a registry double whose token service behaves as Harbor's or
// GitLab's really do, where verifytest's only models the documented protocol:
//
//   - Harbor (src/core/service/token): /service/token on the registry's own
//     host:port. A wrong password, or a deleted, disabled or expired robot, is
//     anonymous: 200 and a JWT without "sub", whose access holds pull on a public
//     project. Only a request without any scope gets 401 when unauthenticated.
//   - GitLab (JwtController, Auth::ContainerRegistryAuthenticationService):
//     /jwt/auth on the GitLab host, another host:port than the registry's, here an
//     IP literal (127.0.0.1:<port>). A credential it does not accept gets 401 (and
//     counts toward the IP ban). "sub" is the user's name, and is left out for a
//     deploy token (no current_user) and for no credential (the payload is
//     compacted); the "user" claim, a nested JWT, names the user or deploy token
//     in "user_info" (null when anonymous).
//
// The registry serves a manifest to a token whose access holds pull on the
// repository, applies Harbor's project policy (412) after that check, and records
// every request of both servers.

type flavor int

const (
	harborFlavor flavor = iota
	gitlabFlavor
)

// tokenShape says how the token service writes tokens.
type tokenShape int

const (
	// jwtNamed: a JWT naming the user in "sub", as Harbor and GitLab write it
	// (anonymous, and GitLab's deploy tokens: no "sub").
	jwtNamed tokenShape = iota
	// jwtEmptySub: as jwtNamed, but an anonymous token has "sub": "".
	jwtEmptySub
	// jwtNoSub: JWTs never carry "sub", not even for a known user.
	jwtNoSub
	// opaque: random strings, as some token services issue.
	opaque
)

// fakeUser is an account of the token service.
type fakeUser struct {
	Password string
	Projects []string // projects it may pull from
	// Disabled: deleted, disabled or expired; Harbor answers it anonymously, GitLab with 401.
	Disabled bool
	// Lagging: issued a moment ago and not yet seen by the replica that answers,
	// until the test calls catchUp. Refused like Disabled.
	Lagging bool
}

type fakeOptions struct {
	Flavor flavor
	Users  map[string]fakeUser
	Public []string          // public projects: the anonymous token may pull
	Images []string          // "project/app:tag" that exist
	Policy map[string]string // repository -> Harbor's 412 PROJECTPOLICYVIOLATION message
	Shape  tokenShape
	// RealmHost replaces the GitLab realm's host (default 127.0.0.1), e.g.
	// "localhost", which go-containerregistry accepts.
	RealmHost string
	// Realm, when set, is announced instead of the token service's own URL.
	Realm string
	// TLS serves the registry over https (the token service stays on http).
	TLS bool
	// NoUserClaim leaves GitLab's "user" claim out, as GitLab versions before it did.
	NoUserClaim bool
	// BanAfter bans the client's address after that many failed logins: GitLab
	// then answers every /jwt/auth request 403 in plain text (Gitlab::Auth::IpBlocked,
	// rescued by ApplicationController), good credentials included.
	BanAfter int
}

// fakeRequest is one request either server received.
type fakeRequest struct {
	Server string // "registry" or "token" (GitLab's separate server)
	Method string
	Path   string
	Auth   string // Authorization scheme or ""
	Scoped bool   // a token request with a scope
	Status int
}

type fakeRegistry struct {
	t        *testing.T
	opts     fakeOptions
	Registry *httptest.Server
	Tokens   *httptest.Server // GitLab only
	Host     string           // the registry's host:port
	realm    string

	mu     sync.Mutex
	fails  int // failed logins so far, for BanAfter
	users  map[string]fakeUser
	issued map[string]fakeClaims
	reqs   []fakeRequest
}

type fakeClaims struct {
	sub  string
	pull []string // repositories the token may pull
}

func newFakeRegistry(t *testing.T, opts fakeOptions) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{t: t, opts: opts, users: map[string]fakeUser{}, issued: map[string]fakeClaims{}}
	for k, v := range opts.Users {
		f.users[k] = v
	}
	regMux := http.NewServeMux()
	regMux.HandleFunc("/v2/", f.serveRegistry)
	tokenPath := "/service/token"
	if opts.Flavor == gitlabFlavor {
		tokenPath = "/jwt/auth"
		f.Tokens = httptest.NewServer(f.record("token", http.HandlerFunc(f.serveToken)))
		t.Cleanup(f.Tokens.Close)
	} else {
		regMux.HandleFunc(tokenPath, f.serveToken)
	}
	f.Registry = httptest.NewUnstartedServer(f.record("registry", regMux))
	if opts.TLS {
		f.Registry.StartTLS()
	} else {
		f.Registry.Start()
	}
	t.Cleanup(f.Registry.Close)
	f.Host = f.Registry.Listener.Addr().String()
	switch {
	case opts.Realm != "":
		f.realm = opts.Realm
	case opts.Flavor == gitlabFlavor:
		host := f.Tokens.Listener.Addr().String()
		if opts.RealmHost != "" {
			_, port, _ := net.SplitHostPort(host)
			host = net.JoinHostPort(opts.RealmHost, port)
		}
		f.realm = "http://" + host + tokenPath
	}
	return f
}

// image returns the reference of repoTag on the registry.
func (f *fakeRegistry) image(repoTag string) string { return f.Host + "/" + repoTag }

// catchUp makes every lagging user known, as a replica that caught up.
func (f *fakeRegistry) catchUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, u := range f.users {
		u.Lagging = false
		f.users[k] = u
	}
}

func (f *fakeRegistry) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// tokenRequests returns the requests to the token service.
func (f *fakeRegistry) tokenRequests() []fakeRequest {
	var out []fakeRequest
	for _, r := range f.requests() {
		if r.Path == "/service/token" || r.Path == "/jwt/auth" {
			out = append(out, r)
		}
	}
	return out
}

// failedLogins counts the token requests answered 401, which GitLab counts toward its IP ban.
func (f *fakeRegistry) failedLogins() int {
	n := 0
	for _, r := range f.tokenRequests() {
		if r.Status == http.StatusUnauthorized {
			n++
		}
	}
	return n
}

func (f *fakeRegistry) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := q["scope"]
	user, pass, hasBasic := r.BasicAuth()
	f.mu.Lock()
	u, known := f.users[user]
	banned := f.opts.BanAfter > 0 && f.fails >= f.opts.BanAfter
	f.mu.Unlock()
	if banned {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Gitlab::Auth::IpBlocked")
		return
	}
	authenticated := hasBasic && known && u.Password == pass && !u.Disabled && !u.Lagging
	if hasBasic && !authenticated && (f.opts.Flavor == gitlabFlavor || len(scopes) == 0) {
		// GitLab refuses a credential it does not accept; Harbor only without a scope.
		f.mu.Lock()
		f.fails++
		f.mu.Unlock()
		writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "HTTP Basic: Access denied")
		return
	}
	if !hasBasic && len(scopes) == 0 && f.opts.Flavor == harborFlavor {
		writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
		return
	}
	claims := fakeClaims{}
	if authenticated {
		claims.sub = user
	}
	for _, sc := range scopes {
		parts := strings.Split(sc, ":")
		if len(parts) != 3 || parts[0] != "repository" || !strings.Contains(parts[2], "pull") {
			continue
		}
		project, _, _ := strings.Cut(parts[1], "/")
		if slices.Contains(f.opts.Public, project) || (authenticated && slices.Contains(u.Projects, project)) {
			claims.pull = append(claims.pull, parts[1])
		}
	}
	tok := f.token(claims)
	f.mu.Lock()
	f.issued[tok] = claims
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"token":%q,"expires_in":1800,"issued_at":"2026-12-01T23:00:00Z"}`, tok)
}

// token writes claims in the configured shape. The signature is not checked by
// anyone: the registry looks the token up.
func (f *fakeRegistry) token(c fakeClaims) string {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	if f.opts.Shape == opaque {
		return hex.EncodeToString(nonce)
	}
	payload := map[string]any{"iss": "fake-token-service", "aud": "registry", "jti": hex.EncodeToString(nonce)}
	deployToken := strings.HasPrefix(c.sub, "gitlab+deploy-token")
	// GitLab leaves sub out of a deploy token's token.
	hidesSub := f.opts.Flavor == gitlabFlavor && deployToken
	switch {
	case f.opts.Shape == jwtNoSub:
	case c.sub != "" && !hidesSub:
		payload["sub"] = c.sub
	case c.sub == "" && f.opts.Shape == jwtEmptySub:
		payload["sub"] = ""
	}
	if f.opts.Flavor == gitlabFlavor && !f.opts.NoUserClaim {
		var info any // null when anonymous
		if c.sub != "" {
			info = map[string]any{"token_type": "deploy_token", "username": c.sub}
		}
		inner, _ := json.Marshal(map[string]any{"user_info": info})
		payload["user"] = fakeJWT(inner, nonce)
	}
	access := []map[string]any{}
	for _, repo := range c.pull {
		access = append(access, map[string]any{"type": "repository", "name": repo, "actions": []string{"pull"}})
	}
	payload["access"] = access
	body, _ := json.Marshal(payload)
	return fakeJWT(body, nonce)
}

func fakeJWT(payload, sig []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + "." + enc(sig)
}

func (f *fakeRegistry) serveRegistry(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	claims, known := f.issued[tok]
	f.mu.Unlock()
	repo, ref, isManifest := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
	switch {
	case r.URL.Path == "/v2/" && !known, isManifest && (!known || !slices.Contains(claims.pull, repo)):
		realm := f.realm
		if realm == "" {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			realm = scheme + "://" + r.Host + "/service/token"
		}
		v := fmt.Sprintf(`Bearer realm=%q,service="fake-registry"`, realm)
		if isManifest {
			v += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		w.Header().Set("WWW-Authenticate", v)
		writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	case !isManifest:
		w.WriteHeader(http.StatusOK)
	case f.opts.Policy[repo] != "":
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		writeRegistryError(w, http.StatusPreconditionFailed, "PROJECTPOLICYVIOLATION", f.opts.Policy[repo])
	case !slices.Contains(f.opts.Images, repo+":"+ref):
		writeRegistryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
	default:
		// The headers distribution sends, which go-containerregistry's HEAD requires.
		w.Header().Set("Content-Type", fakeManifestType)
		w.Header().Set("Content-Length", strconv.Itoa(len(fakeManifest)))
		w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fakeManifest))))
		if r.Method == http.MethodGet {
			fmt.Fprint(w, fakeManifest)
		}
	}
}

const (
	fakeManifestType = "application/vnd.oci.image.manifest.v1+json"
	fakeManifest     = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,` +
		`"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`
)

func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}

func (f *fakeRegistry) record(server string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &fakeStatus{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeRequest{Server: server, Method: r.Method, Path: r.URL.Path, Auth: scheme,
			Scoped: r.URL.Query().Get("scope") != "", Status: sw.status})
		f.mu.Unlock()
	})
}

type fakeStatus struct {
	http.ResponseWriter
	status int
}

func (s *fakeStatus) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
