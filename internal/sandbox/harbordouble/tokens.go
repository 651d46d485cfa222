package harbordouble

import (
	"net/http"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// repositoryActions are the registry actions Harbor's token service can grant on a
// repository (actionScopeMap in src/core/service/token/creator.go), in the order the double
// writes them.
var repositoryActions = []string{"pull", "push", "delete", "scanner-pull"}

// serveToken is Harbor's registry token service, GET /service/token (src/core/service/token).
//
// Like Harbor it grants per repository scope every action the caller holds on the project
// (the first path segment), whatever actions were asked for: the admin gets pull, push,
// delete and scanner-pull; a user with the project admin role the same on its projects; a robot
// the repository actions of its permissions on that project; everyone, anonymous included,
// pull on a public project; an unknown project nothing. A wrong password, an unknown, deleted,
// disabled or expired robot is anonymous: it gets 200 and a token whose access is empty (or
// pull, on a public project), and 401 only when it asks for no scope at all (the docker login
// probe).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// Harbor (beego) has no POST handler here; containerd reads the 405 and falls back to GET.
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if svc := r.URL.Query().Get("service"); svc != s.issuer.Service() {
		http.Error(w, "Unable to handle service: "+svc, http.StatusBadRequest)
		return
	}
	access, err := registrytoken.ParseScopes(r.URL.Query()["scope"])
	if err != nil {
		// Harbor would sign a token with whatever it made of the scope; a malformed scope is
		// a client bug the double reports instead.
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	who := s.authenticate(r)
	if !who.authenticated() && len(access) == 0 {
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	for i := range access {
		access[i].Actions = s.grant(who, access[i])
	}
	s.mu.Unlock()

	// Wall clock, not s.now: the real registry checks nbf and exp against its own clock.
	now := time.Now()
	tok, err := s.issuer.Sign(who.name, access, tokenTTL, now)
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	registrytoken.WriteTokenResponse(w, tok, tokenTTL, now)
}

// grant returns the actions who holds on the resource of a. The caller must hold s.mu.
func (s *Server) grant(who principal, a registrytoken.Access) []string {
	switch a.Type {
	case "repository":
		projectName, _, ok := strings.Cut(a.Name, "/")
		p := s.projectByName(projectName)
		if !ok || p == nil {
			return []string{}
		}
		out := []string{}
		for _, act := range repositoryActions {
			if who.admin || who.projectAdmin(projectName) ||
				(who.robot != nil && who.robot.can(projectName, "repository", act)) ||
				(p.public && act == "pull") {
				out = append(out, act)
			}
		}
		return out
	case "registry":
		// The catalog is for the system admin only.
		if a.Name == "catalog" && who.admin {
			return a.Actions
		}
	}
	return []string{}
}
