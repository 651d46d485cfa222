package harbordouble

import (
	"net/http"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// currentUser serves GET /users/current: the admin or a user gets its profile, a robot 412 (it
// has no user profile: "get current user not available for security context: robot"), an
// anonymous caller 401.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request, _ string) {
	s.mu.Lock()
	who := s.authenticate(r)
	s.mu.Unlock()
	switch {
	case who.robot != nil:
		writeError(w, &apiError{http.StatusPreconditionFailed, "PRECONDITION",
			"get current user not available for security context: robot"})
	case who.admin && who.user == nil:
		writeJSON(w, http.StatusOK, &models.UserResp{UserID: 1, Username: who.name, SysadminFlag: true})
	case who.user != nil:
		writeJSON(w, http.StatusOK, &models.UserResp{UserID: 2, Username: who.name, SysadminFlag: who.admin})
	default:
		writeError(w, errUnauthorized)
	}
}
