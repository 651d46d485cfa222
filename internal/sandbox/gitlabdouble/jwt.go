package gitlabdouble

import (
	"net/http"
	"slices"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// registrySubject is who a /jwt/auth request authenticated as: a user by personal access
// token, a project or group access token, or a deploy token. All nil means anonymous.
type registrySubject struct {
	user   *User
	access *accessToken
	deploy *deployToken
}

func (w registrySubject) name() string {
	switch {
	case w.user != nil:
		return w.user.Username
	case w.access != nil:
		return w.access.BotUsername
	case w.deploy != nil:
		return w.deploy.Username
	}
	return ""
}

// serveJWT is the registry's token realm, GET /jwt/auth?service=container_registry&scope=…
// (JwtController and ContainerRegistryAuthenticationService). Basic-auth credentials that match
// nothing get 401; valid ones get a token granting, per repository scope, the asked-for actions
// the credential holds on the repository's project; anonymous callers a token granting nothing
// (every project of the double is private).
func (s *Server) serveJWT(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	q := r.URL.Query()
	if q.Get("service") != RegistryService {
		// JwtController answers an unknown service with a bare 404.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	access, err := registrytoken.ParseScopes(q["scope"])
	if err != nil {
		// GitLab drops a scope it cannot parse; a malformed scope is a client bug the double
		// reports instead.
		writeRegistryError(w, http.StatusBadRequest, "INVALID_SCOPE", err.Error()+" (the GitLab double is stricter than GitLab here)")
		return
	}
	login, password, hasAuth := r.BasicAuth()

	s.mu.Lock()
	var who registrySubject
	if hasAuth {
		var ok bool
		if who, ok = s.registryLogin(login, password); !ok {
			s.mu.Unlock()
			writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED",
				"HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password.")
			return
		}
	}
	for i := range access {
		access[i].Actions = s.grant(who, access[i])
	}
	s.mu.Unlock()

	// Wall clock, not s.now: the real registry checks nbf and exp against its own clock.
	now := time.Now()
	tok, err := s.issuer.Sign(who.name(), access, registryTokenTTL, now)
	if err != nil {
		writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", "token signing failed")
		return
	}
	registrytoken.WriteTokenResponse(w, tok, registryTokenTTL, now)
}

// registryLogin is Gitlab::Auth.find_for_git_client for the credentials the rotator deals in. A
// personal or resource access token matches whatever the (non-empty) user name; a deploy token
// only with its own user name. Revoked and expired tokens match nothing. The caller must hold
// s.mu.
func (s *Server) registryLogin(login, password string) (registrySubject, bool) {
	if login == "" || password == "" {
		return registrySubject{}, false
	}
	now := s.now()
	if u := s.userByToken(password); u != nil {
		return registrySubject{user: u}, u.tokenActive(now)
	}
	for _, t := range s.accessTokens {
		if hashMatches(t.hash, password) {
			ok := t.active(now) && (t.hasScope("read_registry") || t.hasScope("write_registry") || t.hasScope("api"))
			return registrySubject{access: t}, ok
		}
	}
	for _, t := range s.deployTokens {
		if hashMatches(t.hash, password) {
			return registrySubject{deploy: t}, t.Username == login && t.active(now)
		}
	}
	return registrySubject{}, false
}

// grant returns the actions of a that who holds, in the order asked. Pull needs read access to
// the container registry (Reporter, or a read_registry token), push write access (Developer, or
// write_registry). The caller must hold s.mu.
func (s *Server) grant(who registrySubject, a registrytoken.Access) []string {
	out := []string{}
	if a.Type != "repository" {
		return out
	}
	project := s.projectOfRepository(a.Name)
	if project == nil {
		return out
	}
	var canPull, canPush bool
	switch {
	case who.user != nil:
		canPull, canPush = who.user.role(project) >= Reporter, who.user.role(project) >= Developer
	case who.access != nil:
		t := who.access
		if t.refused || !t.holder.covers(project) {
			return out
		}
		canPull = t.AccessLevel >= Reporter && (t.hasScope("read_registry") || t.hasScope("api"))
		canPush = t.AccessLevel >= Developer && (t.hasScope("write_registry") || t.hasScope("api"))
	case who.deploy != nil:
		t := who.deploy
		if t.refused || !t.holder.covers(project) {
			return out
		}
		canPull, canPush = t.hasScope("read_registry"), t.hasScope("write_registry")
	}
	for _, act := range a.Actions {
		if (act == "pull" && canPull) || (act == "push" && canPush) {
			if !slices.Contains(out, act) {
				out = append(out, act)
			}
		}
	}
	return out
}
