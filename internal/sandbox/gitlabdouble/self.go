package gitlabdouble

import (
	"net/http"
	"time"
)

// getTokenSelf serves GET /personal_access_tokens/self (lib/api/personal_access_tokens/
// self_information.rb): the caller's own token, for any scope. An expired or revoked token
// never gets here: the API guard answers 401 invalid_token first.
func (s *Server) getTokenSelf(w http.ResponseWriter, r *http.Request, _ params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.tokenUser(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var expires any
	if !u.ExpiresAt.IsZero() {
		expires = u.ExpiresAt.UTC().Format(time.DateOnly)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.id, "name": u.Username + "-token", "revoked": u.Revoked, "created_at": railsTime(u.createdAt),
		"description": nil, "scopes": u.Scopes, "user_id": u.id, "last_used_at": nil,
		"active": u.tokenActive(s.now()), "expires_at": expires, "last_used_ips": []string{},
	})
}

// getCurrentUser serves GET /user (Entities::UserPublic, the fields the rotator reads): bot is
// true for the user of a project or group access token.
func (s *Server) getCurrentUser(w http.ResponseWriter, r *http.Request, _ params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.apiUser(r)
	if e != nil {
		writeError(w, e)
		return
	}
	m := map[string]any{
		"id": u.id, "username": u.Username, "name": u.Username, "state": "active", "locked": false,
		"bot": u.Bot, "created_at": railsTime(u.createdAt),
	}
	if u.Admin {
		m["is_admin"] = true
	}
	writeJSON(w, http.StatusOK, m)
}
