package harbordouble

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// principal is who a request acts as, Harbor's security context.
type principal struct {
	admin bool   // the admin or a system admin user
	robot *robot // set for an authenticated robot
	user  *User  // set for an authenticated user other than the admin
	name  string // the user or full robot name; "" for anonymous
}

func (p principal) authenticated() bool { return p.admin || p.robot != nil || p.user != nil }

type principalKey struct{}

// authenticate returns who the request acts as, found by login when the request came in. A
// robot deleted, disabled or expired since then no longer counts. The caller must hold s.mu.
func (s *Server) authenticate(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	if p.robot != nil && (s.robots[p.robot.ID] != p.robot || !p.robot.active(s.now())) {
		return principal{}
	}
	return p
}

// withPrincipal stores p in r's context for authenticate.
func withPrincipal(r *http.Request, p principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// SetAdminPassword changes the admin's password, as an admin would in Harbor's UI: requests
// with the old one are anonymous from now on.
func (s *Server) SetAdminPassword(password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.AdminPassword = password
}

// checkPassword finds the user (admin included) with this name and password. The caller must
// hold s.mu.
func (s *Server) checkPassword(name, password string) (principal, bool) {
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if eq(name, s.o.AdminUsername) && eq(password, s.o.AdminPassword) {
		return principal{admin: true, name: name}, true
	}
	for i := range s.o.Users {
		u := &s.o.Users[i]
		if eq(name, u.Name) && eq(password, u.Password) {
			return principal{admin: u.SystemAdmin, user: u, name: name}, true
		}
	}
	return principal{}, false
}

// isCLIPath reports whether Harbor's OIDC CLI-secret generator accepts basic auth on path
// (server/middleware/security/oidc_cli.go): the registry and its token service, not the API.
func isCLIPath(path string) bool {
	return path == "/service/token" || path == "/v2" || strings.HasPrefix(path, "/v2/")
}

// projectAdmin reports whether p is a user with the project admin role in project.
func (p principal) projectAdmin(project string) bool {
	return p.user != nil && slices.Contains(p.user.ProjectAdmin, project)
}

// denied is the answer to a caller who may not do something: 401 when anonymous, 403 else.
func denied(p principal) *apiError {
	if p.authenticated() {
		return errForbidden
	}
	return errUnauthorized
}

// requireAdmin lets only the admin (or a system admin user) pass. The caller must hold s.mu.
func (s *Server) requireAdmin(r *http.Request) *apiError {
	if p := s.authenticate(r); !p.admin {
		return denied(p)
	}
	return nil
}
