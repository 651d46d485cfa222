package harbordouble

import (
	"crypto/rand"
	"encoding/hex"
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
	apiPrefix = "/api/v2.0"
	// DefaultVersion is the Harbor release the double plays unless Options.Version says
	// otherwise.
	DefaultVersion = "v2.13.0"
	// HarborVersion is what systeminfo reports for DefaultVersion. Harbor appends its git
	// commit to the release ("v2.13.0-<commit>"); the double does the same so that a client
	// parsing the version meets the real format.
	HarborVersion = DefaultVersion + versionCommit
	versionCommit = "-d1a0a5e7"
	// DefaultRobotPrefix is Harbor's default ROBOT_NAME_PREFIX.
	DefaultRobotPrefix = "robot$"
	// tokenTTL is Harbor's default token_expiration, 30 minutes.
	tokenTTL = 30 * time.Minute
)

// Options configure a Server.
type Options struct {
	// AdminUsername and AdminPassword are the one Harbor user, a system admin. Required.
	AdminUsername, AdminPassword string
	// Projects are the names of the projects that exist; they get ids 1..n in this order. Every
	// project is private, as Harbor's default: anonymous clients see none.
	Projects []string
	// Registry is the real docker registry. /v2/ is reverse-proxied to it, as Harbor's core
	// does, so /v2/ and /service/token share the double's host:port. If nil, /v2/ answers 502.
	Registry *url.URL
	// Issuer signs the registry tokens; the registry's rootcertbundle must be its CertPEM.
	// If nil, New makes one (issuer "harbor-token-issuer", service "harbor-registry").
	Issuer *registrytoken.Issuer
	// RobotPrefix is Harbor's robot_name_prefix setting (ROBOT_NAME_PREFIX); default
	// DefaultRobotPrefix. It can be changed later with SetRobotPrefix or PUT /configurations.
	RobotPrefix string
	// Version is the Harbor release to play, "v2.8.0" … "v2.14.1" (see version.go for what
	// changes with it); default DefaultVersion.
	Version string
	// PublicProjects are the names among Projects that are public: anyone may pull from them.
	// SetProjectPublic changes it later.
	PublicProjects []string
	// Users are Harbor users besides the admin (local users in db_auth mode, OIDC users in
	// oidc_auth mode).
	Users []User
	// AuthMode is "db_auth" (default) or "oidc_auth". In OIDC mode only the admin (the local
	// admin, user id 1) and robots may use basic auth on the API; other users only on the
	// registry paths (/v2/, /service/token), with their CLI secret.
	AuthMode string
	// ReadOnly starts Harbor in read-only mode (SetReadOnly, PUT /configurations read_only).
	ReadOnly bool
	// Now is the clock of Harbor's own state: creation and update times, expires_at, the expiry
	// check and the login lock. Default time.Now. Registry tokens are always stamped with the
	// wall clock, because the real registry checks them against its own.
	Now func() time.Time
	// Sleep is how a failed login waits (Harbor sleeps 1.5 s before answering); default
	// time.Sleep. A test gives a function that advances its clock instead.
	Sleep func(time.Duration)
}

// User is a Harbor user other than the admin.
type User struct {
	Name, Password string
	// SystemAdmin gives the user the system admin role.
	SystemAdmin bool
	// ProjectAdmin lists the projects where the user has the project admin role.
	ProjectAdmin []string
}

// Server is the Harbor double. It is an http.Handler; serve it on any listener. All methods
// are safe for concurrent use.
type Server struct {
	o        Options
	issuer   *registrytoken.Issuer
	projects []*project // fixed at New, read without the lock
	proxy    *httputil.ReverseProxy

	requests *requestlog.Log // its own lock

	mu       sync.Mutex
	robots   map[int64]*robot
	nextID   int64
	faults   []*fault
	prefix   string               // robot_name_prefix now
	readOnly bool                 // read-only mode
	authMode string               // db_auth or oidc_auth
	version  version              // parsed Options.Version
	locks    map[string]time.Time // user name -> time of its last failed login
}

// New validates o and returns a Server holding o.Projects and no robots.
func New(o Options) (*Server, error) {
	if o.AdminUsername == "" || o.AdminPassword == "" {
		return nil, errors.New("harbordouble: AdminUsername and AdminPassword are required")
	}
	if o.RobotPrefix == "" {
		o.RobotPrefix = DefaultRobotPrefix
	}
	if strings.HasPrefix(o.AdminUsername, o.RobotPrefix) {
		// Harbor would try such a name as a robot first; the admin could never log in.
		return nil, fmt.Errorf("harbordouble: admin user name %q starts with the robot prefix", o.AdminUsername)
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	v, err := parseVersion(o.Version)
	if err != nil {
		return nil, fmt.Errorf("harbordouble: %w", err)
	}
	if o.AuthMode == "" {
		o.AuthMode = authDB
	}
	if o.AuthMode != authDB && o.AuthMode != authOIDC {
		return nil, fmt.Errorf("harbordouble: auth mode %q is neither %q nor %q", o.AuthMode, authDB, authOIDC)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	s := &Server{o: o, issuer: o.Issuer, robots: map[int64]*robot{}, nextID: 1, requests: newRequestLog(),
		prefix: o.RobotPrefix, readOnly: o.ReadOnly, authMode: o.AuthMode, version: v, locks: map[string]time.Time{}}
	if s.issuer == nil {
		if s.issuer, err = registrytoken.NewIssuer("harbor-token-issuer", "harbor-registry"); err != nil {
			return nil, fmt.Errorf("harbordouble: %w", err)
		}
	}
	created := o.Now()
	seen := map[string]bool{}
	for i, name := range o.Projects {
		if !namePattern.MatchString(name) || seen[name] {
			return nil, fmt.Errorf("harbordouble: project name %q is invalid or repeated", name)
		}
		seen[name] = true
		s.projects = append(s.projects, &project{id: int64(i + 1), name: name, created: created})
	}
	for _, name := range o.PublicProjects {
		p := s.projectByName(name)
		if p == nil {
			return nil, fmt.Errorf("harbordouble: public project %q is not among Projects", name)
		}
		p.public = true
	}
	for _, u := range o.Users {
		if u.Name == "" || u.Password == "" || u.Name == o.AdminUsername || strings.HasPrefix(u.Name, o.RobotPrefix) {
			return nil, fmt.Errorf("harbordouble: user %q needs a name and password, not the admin's and not starting with the robot prefix", u.Name)
		}
		for _, pa := range u.ProjectAdmin {
			if s.projectByName(pa) == nil {
				return nil, fmt.Errorf("harbordouble: user %q is project admin of %q, which is not among Projects", u.Name, pa)
			}
		}
	}
	if o.Registry != nil {
		s.proxy = newRegistryProxy(o.Registry)
	}
	return s, nil
}

// Issuer returns the token issuer, whose CertPEM the registry must trust.
func (s *Server) Issuer() *registrytoken.Issuer { return s.issuer }

func (s *Server) now() time.Time { return s.o.Now() }

// ServeHTTP records the request, applies an injected fault if one matches, authenticates it
// (see login.go) and serves it as Harbor would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Record(r)
	if status := s.takeFault(r); status != 0 {
		writeFault(w, status)
		return
	}
	r = s.login(r)
	p := r.URL.Path
	switch {
	case p == "/v2" || strings.HasPrefix(p, "/v2/"):
		s.serveRegistry(w, r)
	case p == "/service/token":
		s.serveToken(w, r)
	case p == apiPrefix || strings.HasPrefix(p, apiPrefix+"/"):
		// Harbor's request-id middleware: echo the caller's id or make one.
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			id = randomID()
		}
		w.Header().Set("X-Request-Id", id)
		if s.refuseReadOnly(w, r) {
			return
		}
		s.serveAPI(w, r, strings.TrimPrefix(p, apiPrefix))
	default:
		http.NotFound(w, r)
	}
}

// route is one API operation: a method on a path pattern whose "{}" segment is a parameter.
type route struct {
	method, pattern string
	handle          func(s *Server, w http.ResponseWriter, r *http.Request, param string)
}

var routes = []route{
	{http.MethodGet, "/ping", (*Server).ping},
	{http.MethodGet, "/systeminfo", (*Server).systemInfo},
	{http.MethodGet, "/users/current", (*Server).currentUser},
	{http.MethodGet, "/configurations", (*Server).getConfigurations},
	{http.MethodPut, "/configurations", (*Server).putConfigurations},
	{http.MethodGet, "/projects", (*Server).listProjects},
	{http.MethodGet, "/projects/{}", (*Server).getProject},
	{http.MethodGet, "/robots", (*Server).listRobots},
	{http.MethodPost, "/robots", (*Server).createRobot},
	{http.MethodGet, "/robots/{}", (*Server).getRobot},
	{http.MethodPut, "/robots/{}", (*Server).updateRobot},
	{http.MethodPatch, "/robots/{}", (*Server).refreshRobotSecret},
	{http.MethodDelete, "/robots/{}", (*Server).deleteRobot},
}

// serveAPI dispatches path (below /api/v2.0) to its operation. Unknown paths and methods get
// the answers of go-swagger's router as Harbor serves them.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	var allowed []string
	for _, rt := range routes {
		param, ok := matchPattern(rt.pattern, path)
		if !ok {
			continue
		}
		if rt.method != r.Method {
			allowed = append(allowed, rt.method)
			continue
		}
		rt.handle(s, w, r, param)
		return
	}
	if len(allowed) > 0 {
		writeError(w, &apiError{http.StatusMethodNotAllowed, codeMethodNotAllowed,
			fmt.Sprintf("method %s is not allowed, but [%s] are", r.Method, strings.Join(allowed, ","))})
		return
	}
	writeError(w, errNotFound("path %s was not found", r.URL.Path))
}

func matchPattern(pattern, path string) (param string, ok bool) {
	prefix, hasParam := strings.CutSuffix(pattern, "{}")
	if !hasParam {
		return "", path == pattern
	}
	rest, found := strings.CutPrefix(path, prefix)
	if !found || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
