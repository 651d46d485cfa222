package harbordouble

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// principal is who a request acts as, Harbor's security context.
type principal struct {
	admin bool
	robot *robot // set for an authenticated robot
	name  string // the user or full robot name; "" for anonymous
}

func (p principal) authenticated() bool { return p.admin || p.robot != nil }

// authenticate follows Harbor's chain of security generators
// (src/server/middleware/security): a basic-auth name with the robot prefix is looked up as a
// robot, which must have that secret, be enabled and not expired; otherwise the name and
// password are tried as the admin user. Whatever fails leaves the request anonymous: Harbor
// does not refuse a bad credential at this point, each handler decides what anonymous may do.
// The caller must hold s.mu.
func (s *Server) authenticate(r *http.Request) principal {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return principal{}
	}
	if stored, isRobot := strings.CutPrefix(user, s.o.RobotPrefix); isRobot {
		if rb := s.robotByStoredName(stored); rb != nil && rb.checkSecret(pass) && rb.active(s.now()) {
			return principal{robot: rb, name: user}
		}
	}
	if subtle.ConstantTimeCompare([]byte(user), []byte(s.o.AdminUsername)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.o.AdminPassword)) == 1 {
		return principal{admin: true, name: user}
	}
	return principal{}
}

// SetAdminPassword changes the admin's password, as an admin would in Harbor's UI: requests
// with the old one are anonymous from now on.
func (s *Server) SetAdminPassword(password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.AdminPassword = password
}

// requireAdmin answers the robot and project API's access check: the admin passes, an
// anonymous request gets 401 and a robot 403. (Harbor 2.12+ lets a robot manage robots no
// wider than itself; the rotator never relies on that, so the double does not model it.)
// The caller must hold s.mu.
func (s *Server) requireAdmin(r *http.Request) *apiError {
	p := s.authenticate(r)
	switch {
	case p.admin:
		return nil
	case p.robot != nil:
		return errForbidden
	default:
		return errUnauthorized
	}
}
