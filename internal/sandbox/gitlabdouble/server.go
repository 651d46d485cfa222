package gitlabdouble

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
	"github.com/rotatorhq/rotator/internal/sandbox/requestlog"
)

const (
	apiPrefix = "/api/v4"
	// JWTPath is the registry's token realm on GitLab, /jwt/auth.
	JWTPath = "/jwt/auth"
	// RegistryService is the service (aud claim) GitLab's registry is configured with.
	RegistryService = "container_registry"
	// RegistryIssuer is GitLab's default registry token issuer.
	RegistryIssuer = "gitlab-issuer"
	// registryTokenTTL is GitLab's default container_registry_token_expire_delay, 5 minutes.
	registryTokenTTL = 5 * time.Minute
	// DefaultMaxTokenLifetimeDays is GitLab's limit on an access token's expiry (365 days).
	DefaultMaxTokenLifetimeDays = 365
)

// Options configure a Server.
type Options struct {
	// Users are the GitLab users whose personal access tokens call the API (PRIVATE-TOKEN
	// header). At least one is required.
	Users []User
	// Groups and Projects that exist, by full path ("group-a", "group-a/sub",
	// "group-a/app"). Every parent of a group or project must be a listed group. They get ids in
	// this order, groups and projects counted separately as in GitLab's tables. All are private.
	Groups, Projects []string
	// Registry is the real docker registry that /v2/ is proxied to. If nil, /v2/ answers 502.
	Registry *url.URL
	// Issuer signs the registry tokens; the registry's rootcertbundle must be its CertPEM. If
	// nil, New makes one (issuer RegistryIssuer, service RegistryService).
	Issuer *registrytoken.Issuer
	// MaxTokenLifetimeDays is the instance's limit on access token expiry; default 365. (GitLab
	// sets no such limit on deploy tokens, and neither does the double.)
	MaxTokenLifetimeDays int
	// Now is the clock of GitLab's own state (created_at, expiry checks); default time.Now.
	// Registry tokens are always stamped with the wall clock, which the real registry checks.
	Now func() time.Time
	// TimeZone is the instance's time zone (gitlab_rails['time_zone']); nil is UTC. GitLab
	// checks an access token's expiry date against MaxTokenLifetimeDays from today's date in
	// this zone (Date.current), so near midnight the last date allowed is not UTC's.
	TimeZone *time.Location
	// Plan is the offering and subscription (gitlab.com Free, trial, Premium; self-managed by
	// default), which decides whether access tokens exist at all.
	Plan Plan
	// ProxyDecodesEncodedSlashes plays a reverse proxy in front of GitLab that decodes %2F in
	// the path (nginx proxy_pass with a URI, Apache without AllowEncodedSlashes NoDecode):
	// /projects/group%2Fapp/… reaches GitLab as /projects/group/app/…, matches no route and
	// is answered 404 {"error":"404 Not Found"}. Paths with one segment still work.
	ProxyDecodesEncodedSlashes bool
}

// Server is the GitLab double. It is an http.Handler serving everything; APIHandler and
// RegistryHandler serve the GitLab host's and the registry host's parts alone. All methods are
// safe for concurrent use.
type Server struct {
	o      Options
	issuer *registrytoken.Issuer
	proxy  *httputil.ReverseProxy

	requests *requestlog.Log // its own lock

	mu           sync.Mutex
	users        []*User
	groups       []*namespace
	projects     []*namespace
	deployTokens map[int64]*deployToken
	accessTokens map[int64]*accessToken
	nextDeployID int64
	nextAccessID int64
	nextBotID    int64
	maxLifetime  int
	refuseNew    bool
	creationOff  bool
	faults       []*Fault
}

// New validates o and returns a Server with o's users, groups and projects and no tokens.
func New(o Options) (*Server, error) {
	if len(o.Users) == 0 {
		return nil, errors.New("gitlabdouble: at least one user is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxTokenLifetimeDays == 0 {
		o.MaxTokenLifetimeDays = DefaultMaxTokenLifetimeDays
	}
	s := &Server{
		requests: newRequestLog(),
		o:        o, issuer: o.Issuer, maxLifetime: o.MaxTokenLifetimeDays,
		deployTokens: map[int64]*deployToken{}, accessTokens: map[int64]*accessToken{},
		nextDeployID: 1, nextAccessID: 1, nextBotID: 1000,
	}
	if s.issuer == nil {
		var err error
		if s.issuer, err = registrytoken.NewIssuer(RegistryIssuer, RegistryService); err != nil {
			return nil, fmt.Errorf("gitlabdouble: %w", err)
		}
	}
	if err := s.addNamespaces(o.Groups, o.Projects); err != nil {
		return nil, err
	}
	for _, u := range o.Users {
		if err := s.AddUser(u); err != nil {
			return nil, err
		}
	}
	if o.Registry != nil {
		s.proxy = newRegistryProxy(o.Registry)
	}
	return s, nil
}

// Issuer returns the registry token issuer, whose CertPEM the registry must trust.
func (s *Server) Issuer() *registrytoken.Issuer { return s.issuer }

func (s *Server) now() time.Time { return s.o.Now() }

// ServeHTTP records the request, applies an injected fault if one matches, then serves it as
// GitLab (or its registry) would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, true, true)
}

// APIHandler serves what the GitLab host serves: /api/v4 and the token realm /jwt/auth.
func (s *Server) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, true, false) })
}

// RegistryHandler serves what the registry host serves: /v2/; and /jwt/auth too, for a rig
// whose registry names a realm on the registry's own host:port (go-containerregistry refuses
// a realm on another loopback IP literal). Real GitLab serves the realm on the GitLab host,
// as APIHandler does; the sandbox names it by host name (localhost:<API port>).
func (s *Server) RegistryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false, true) })
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, api, registry bool) {
	s.requests.Record(r)
	if f := s.takeFault(r); f != nil {
		writeFault(w, f)
		return
	}
	p := r.URL.Path
	switch {
	case registry && (p == "/v2" || strings.HasPrefix(p, "/v2/")):
		s.serveRegistry(w, r)
	case p == JWTPath:
		s.serveJWT(w, r)
	case api && strings.HasPrefix(p, apiPrefix+"/"):
		// The escaped path: a project or group path is one URL-encoded segment, unless a
		// proxy decoded it on the way.
		path := r.URL.EscapedPath()
		if s.o.ProxyDecodesEncodedSlashes {
			path = strings.ReplaceAll(path, "%2F", "/")
			path = strings.ReplaceAll(path, "%2f", "/")
		}
		s.serveAPI(w, r, strings.TrimPrefix(path, apiPrefix))
	default:
		// GitLab's catch-all answer for an unknown route.
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	}
}

// route is one API operation. Its pattern's segments are literals, ":id" (a project or group,
// by id or URL-encoded path) or ":token_id".
type route struct {
	method  string
	pattern string
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, p params)
}

// params are a matched route's path parameters, unescaped.
type params struct {
	kind    nsKind // the resource the route is under: project or group
	id      string // :id
	tokenID string // :token_id
}

var routes = []route{
	{http.MethodGet, "/projects/:id/deploy_tokens", (*Server).listDeployTokens},
	{http.MethodPost, "/projects/:id/deploy_tokens", (*Server).createDeployToken},
	{http.MethodGet, "/projects/:id/deploy_tokens/:token_id", (*Server).getDeployToken},
	{http.MethodDelete, "/projects/:id/deploy_tokens/:token_id", (*Server).deleteDeployToken},
	{http.MethodGet, "/groups/:id/deploy_tokens", (*Server).listDeployTokens},
	{http.MethodPost, "/groups/:id/deploy_tokens", (*Server).createDeployToken},
	{http.MethodGet, "/groups/:id/deploy_tokens/:token_id", (*Server).getDeployToken},
	{http.MethodDelete, "/groups/:id/deploy_tokens/:token_id", (*Server).deleteDeployToken},
	{http.MethodGet, "/projects/:id/access_tokens", (*Server).listAccessTokens},
	{http.MethodPost, "/projects/:id/access_tokens", (*Server).createAccessToken},
	{http.MethodGet, "/projects/:id/access_tokens/:token_id", (*Server).getAccessToken},
	{http.MethodDelete, "/projects/:id/access_tokens/:token_id", (*Server).revokeAccessToken},
	{http.MethodPost, "/projects/:id/access_tokens/:token_id/rotate", (*Server).rotateAccessToken},
	{http.MethodGet, "/groups/:id/access_tokens", (*Server).listAccessTokens},
	{http.MethodPost, "/groups/:id/access_tokens", (*Server).createAccessToken},
	{http.MethodGet, "/groups/:id/access_tokens/:token_id", (*Server).getAccessToken},
	{http.MethodDelete, "/groups/:id/access_tokens/:token_id", (*Server).revokeAccessToken},
	{http.MethodPost, "/groups/:id/access_tokens/:token_id/rotate", (*Server).rotateAccessToken},
	{http.MethodGet, "/personal_access_tokens/self", (*Server).getTokenSelf},
	{http.MethodGet, "/user", (*Server).getCurrentUser},
}

// serveAPI dispatches escapedPath (below /api/v4) to its operation. Grape answers an unknown
// route, and a known path with another method, with 404 and 405.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, escapedPath string) {
	escapedPath = strings.TrimSuffix(escapedPath, "/")
	methodMismatch := false
	for _, rt := range routes {
		p, ok := matchRoute(rt.pattern, escapedPath)
		if !ok {
			continue
		}
		if rt.method != r.Method {
			methodMismatch = true
			continue
		}
		rt.handle(s, w, r, p)
		return
	}
	if methodMismatch {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "405 Not Allowed"})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
}

// matchRoute matches an escaped path against a pattern segment by segment; an unescaped '/'
// inside a project path ("group-a/app" not encoded) therefore matches nothing, as in GitLab.
func matchRoute(pattern, escapedPath string) (params, bool) {
	want := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	got := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if len(want) != len(got) {
		return params{}, false
	}
	var p params
	for i, seg := range want {
		val, err := url.PathUnescape(got[i])
		if err != nil || got[i] == "" {
			return params{}, false
		}
		switch seg {
		case ":id":
			p.id = val
		case ":token_id":
			p.tokenID = val
		default:
			if seg != got[i] {
				return params{}, false
			}
		}
	}
	p.kind = kindProject
	if want[0] == "groups" {
		p.kind = kindGroup
	}
	return p, true
}
