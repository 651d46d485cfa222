package harbordouble

import (
	"net/http"
	"strings"
	"time"
)

// Authentication modes of Harbor's auth_mode setting that the double plays.
const (
	authDB   = "db_auth"
	authOIDC = "oidc_auth"
)

// loginLock is how long Harbor refuses a user name after a failed login, and how long the
// failed request itself sleeps before it is answered (frozenTime in src/core/auth/authenticator.go).
const loginLock = 1500 * time.Millisecond

// login follows Harbor's chain of security generators (src/server/middleware/security) and
// returns r carrying the principal for authenticate:
//
//   - a basic-auth name with the robot prefix is tried as a robot first: it must have that
//     secret, be enabled and not expired. The lock plays no part here;
//   - in oidc_auth mode a user other than the admin is accepted only on the registry paths,
//     with the CLI secret (the double: the user's Password); elsewhere the request stays
//     anonymous, so the API answers 401, at once;
//   - everything else is a login: a name locked by a failed login in the last 1.5 s is
//     refused without checking the password; a wrong password (a robot's wrong secret
//     included: the name falls through to the login) locks the name and the request sleeps
//     1.5 s before it is answered.
//
// Whatever fails leaves the request anonymous: Harbor does not refuse a bad credential here,
// each handler decides what anonymous may do.
func (s *Server) login(r *http.Request) *http.Request {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return r
	}
	s.mu.Lock()
	p, failed := s.loginLocked(r.URL.Path, user, pass)
	s.mu.Unlock()
	if failed {
		s.o.Sleep(loginLock)
	}
	return withPrincipal(r, p)
}

// loginLocked is login under s.mu; failed says the request must sleep.
func (s *Server) loginLocked(path, user, pass string) (p principal, failed bool) {
	if stored, isRobot := strings.CutPrefix(user, s.prefix); isRobot {
		if rb := s.robotByStoredName(stored); rb != nil && rb.checkSecret(pass) && rb.active(s.now()) {
			return principal{robot: rb, name: user}, false
		}
	}
	if s.authMode == authOIDC && user != s.o.AdminUsername {
		if !isCLIPath(path) {
			return principal{}, false
		}
		if p, ok := s.checkPassword(user, pass); ok && p.user != nil {
			return p, false
		}
		return principal{}, false
	}
	now := s.now()
	if at, ok := s.locks[user]; ok && now.Sub(at) < loginLock {
		return principal{}, false
	}
	if p, ok := s.checkPassword(user, pass); ok {
		return p, false
	}
	s.locks[user] = now
	return principal{}, true
}
