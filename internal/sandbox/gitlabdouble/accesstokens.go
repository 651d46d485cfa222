package gitlabdouble

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
)

// The project and group access token API after lib/api/resource_access_tokens.rb. Unlike the
// deploy token API it authenticates first (401), and it reports a missing role as GitLab does:
// 401 on list and get, 400 "User does not have permission" on create.

// accessTokenScopes are the scopes a resource bot may get (Gitlab::Auth.resource_bot_scopes).
var accessTokenScopes = []string{"api", "read_api", "read_repository", "write_repository",
	"read_registry", "write_registry", "create_runner", "manage_runner", "ai_features", "k8s_proxy", "self_rotate"}

// accessTokenRole is the role that may manage access tokens: Maintainer of a project, Owner of
// a group.
func accessTokenRole(kind nsKind) int {
	if kind == kindGroup {
		return Owner
	}
	return Maintainer
}

// accessTokenSource authenticates the request and finds its project or group (find_source).
// The caller must hold s.mu.
func (s *Server) accessTokenSource(r *http.Request, p params) (*User, *namespace, *apiError) {
	u, e := s.apiUser(r)
	if e != nil {
		return nil, nil, e
	}
	ns := s.lookup(p.kind, p.id)
	if ns == nil || !u.visible(ns) {
		return nil, nil, notFoundOf(p.kind)
	}
	return u, ns, nil
}

// accessTokenNotFound is not_found!("#{source_type} Access Token").
func accessTokenNotFound(kind nsKind) *apiError { return errNotFound(string(kind) + " Access Token") }

// listAccessTokens serves GET …/access_tokens, revoked and expired tokens included unless
// ?state=active or ?state=inactive says otherwise, paged.
func (s *Server) listAccessTokens(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ns, e := s.accessTokenSource(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	if u.role(ns) < accessTokenRole(p.kind) || !s.accessTokensAvailable(ns) {
		writeError(w, errUnauthorized)
		return
	}
	state := r.URL.Query().Get("state")
	if state != "" && state != "active" && state != "inactive" {
		writeError(w, errParams("state does not have a valid value"))
		return
	}
	now := s.now()
	var ids []int64
	for id, t := range s.accessTokens {
		if t.holder == ns && (state == "" || (state == "active") == t.active(now)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	items := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		items = append(items, s.accessTokens[id].toJSON(now, ""))
	}
	writePage(w, r, items)
}

// getAccessToken serves GET …/access_tokens/:token_id.
func (s *Server) getAccessToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ns, e := s.accessTokenSource(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	if u.role(ns) < accessTokenRole(p.kind) || !s.accessTokensAvailable(ns) {
		writeError(w, errUnauthorized)
		return
	}
	t := s.accessTokenOf(ns, p.tokenID)
	if t == nil {
		writeError(w, accessTokenNotFound(p.kind))
		return
	}
	writeJSON(w, http.StatusOK, t.toJSON(s.now(), ""))
}

// accessTokenOf finds the token :token_id of ns (find_token: a token of one of the resource's
// bots). The caller must hold s.mu.
func (s *Server) accessTokenOf(ns *namespace, tokenID string) *accessToken {
	id, err := strconv.ParseInt(tokenID, 10, 64)
	if err != nil {
		return nil
	}
	if t := s.accessTokens[id]; t != nil && t.holder == ns {
		return t
	}
	return nil
}

type createAccessTokenBody struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	Scopes      []string `json:"scopes"`
	ExpiresAt   *string  `json:"expires_at"`
	AccessLevel *int     `json:"access_level"`
}

// createAccessToken serves POST …/access_tokens: a bot user with the access level, and its
// token, whose value only this answer holds.
func (s *Server) createAccessToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ns, e := s.accessTokenSource(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	var body createAccessTokenBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	var problems []string
	if body.Name == nil || *body.Name == "" {
		problems = append(problems, "name is missing")
	}
	if body.Scopes == nil {
		problems = append(problems, "scopes is missing")
	}
	for _, sc := range body.Scopes {
		if !slices.Contains(accessTokenScopes, sc) {
			problems = append(problems, "scopes does not have a valid value")
			break
		}
	}
	level := Maintainer // GitLab's default access_level
	if body.AccessLevel != nil {
		level = *body.AccessLevel
		if !slices.Contains([]int{Guest, Reporter, Developer, Maintainer, Owner}, level) {
			problems = append(problems, "access_level does not have a valid value")
		}
	}
	var expires time.Time
	if body.ExpiresAt != nil && *body.ExpiresAt != "" {
		var ok bool
		if expires, ok = parseDate(*body.ExpiresAt); !ok {
			problems = append(problems, "expires_at is invalid")
		}
	}
	if len(problems) > 0 {
		writeError(w, errParams(problems...))
		return
	}
	if e := s.checkNewAccessToken(u, ns, level, expires, body.ExpiresAt == nil || *body.ExpiresAt == ""); e != nil {
		writeError(w, e)
		return
	}
	desc := ""
	if body.Description != nil {
		desc = *body.Description
	}
	value, t := s.newAccessToken(ns, *body.Name, desc, body.Scopes, level, expires)
	writeJSON(w, http.StatusCreated, t.toJSON(s.now(), value))
}

// checkNewAccessToken applies ResourceAccessTokens::CreateService's and the token model's
// rules, each answered with 400. The permission answer is the same whether the role is
// missing, the plan has no access tokens, creation is switched off or the caller is a bot. The
// expiry limit counts from today in the instance's time zone. The caller must hold s.mu.
func (s *Server) checkNewAccessToken(u *User, ns *namespace, level int, expires time.Time, noExpiry bool) *apiError {
	role := u.role(ns)
	now := s.now()
	today := dateIn(now, s.o.TimeZone)
	maxDate := today.AddDate(0, 0, s.maxLifetime)
	switch {
	case role < accessTokenRole(ns.kind) || !s.mayCreateAccessTokens(u, ns):
		return errBadRequest("User does not have permission to create %s access token", ns.kind)
	case level > role:
		return errBadRequest("Access level of the token contains permissions not held by the creating user")
	case s.reachedTrialLimit(ns, now):
		return errBadRequest(msgAccessTokenLimit)
	case noExpiry:
		// GitLab's default (expiry enforced) would fill in the maximum; the double wants the
		// client to say what it wants.
		return errBadRequest("Expires at can't be blank (the GitLab double requires an expiry date)")
	case !expires.After(today):
		return errBadRequest("Expires at must be in the future")
	case expires.After(maxDate):
		// The model's error on expires_at, humanised as GitLab renders it (gitlab-org/gitlab#429864).
		return errBadRequest("Expiration date must be before %s", maxDate.Format(time.DateOnly))
	}
	return nil
}

// newAccessToken stores a token with a new bot user and returns its value. The caller must hold
// s.mu.
func (s *Server) newAccessToken(ns *namespace, name, desc string, scopes []string, level int, expires time.Time) (string, *accessToken) {
	value, hash := newTokenValue(accessTokenPrefix)
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	t := &accessToken{
		AccessToken: AccessToken{
			ID: s.nextAccessID, Name: name, Description: desc, Holder: ns.path, HolderKind: string(ns.kind),
			Scopes: slices.Clone(scopes), AccessLevel: level, ExpiresAt: expires, CreatedAt: s.now(),
			UserID: s.nextBotID, BotUsername: fmt.Sprintf("%s_%d_bot_%s", ns.kind, ns.id, hex.EncodeToString(suffix[:])),
		},
		holder: ns, hash: hash, refused: s.refuseNew,
	}
	sort.Strings(t.Scopes)
	s.nextAccessID++
	s.nextBotID++
	s.accessTokens[t.ID] = t
	return value, t
}

// revokeAccessToken serves DELETE …/access_tokens/:token_id: the token is revoked, not deleted
// (it stays listed), and its bot user removed, so a second delete answers 404.
func (s *Server) revokeAccessToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ns, e := s.accessTokenSource(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	t := s.accessTokenOf(ns, p.tokenID)
	if t == nil || t.Revoked {
		writeError(w, accessTokenNotFound(p.kind))
		return
	}
	if u.role(ns) < accessTokenRole(p.kind) || !s.accessTokensAvailable(ns) {
		writeError(w, errBadRequest("%s cannot delete %s", u.Username, t.BotUsername))
		return
	}
	t.Revoked = true
	w.WriteHeader(http.StatusNoContent)
}

// rotateAccessToken serves POST …/access_tokens/:token_id/rotate as GitLab does: the old token
// is revoked at once and a new one with the same name, scopes and level returned. Rotating a
// revoked token revokes every token of its family. The rotator must never call it.
func (s *Server) rotateAccessToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ns, e := s.accessTokenSource(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	var t *accessToken
	if u.role(ns) >= accessTokenRole(p.kind) {
		t = s.accessTokenOf(ns, p.tokenID)
	}
	if t == nil {
		// Only admins learn that the token does not exist.
		if u.Admin {
			writeError(w, errRecordNotFound)
		} else {
			writeError(w, errUnauthorized)
		}
		return
	}
	if t.Revoked {
		for _, o := range s.accessTokens {
			if o.holder == ns && o.Name == t.Name {
				o.Revoked = true
			}
		}
		writeError(w, errBadRequest("Token already revoked"))
		return
	}
	var body struct {
		ExpiresAt *string `json:"expires_at"`
	}
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	expires := midnightUTC(s.now()).AddDate(0, 0, 7) // GitLab's default: one week
	if body.ExpiresAt != nil && *body.ExpiresAt != "" {
		var ok bool
		if expires, ok = parseDate(*body.ExpiresAt); !ok {
			writeError(w, errParams("expires_at is invalid"))
			return
		}
	}
	t.Revoked = true
	value, nt := s.newAccessToken(ns, t.Name, t.Description, t.Scopes, t.AccessLevel, expires)
	writeJSON(w, http.StatusOK, nt.toJSON(s.now(), value))
}
