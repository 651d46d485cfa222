package gitlabdouble

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// GitLab's access levels (Gitlab::Access).
const (
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
	Owner      = 50
)

// User is a GitLab user who calls the API with a personal access token (scope api unless
// Scopes says otherwise).
type User struct {
	// Username is the user's name, e.g. "root".
	Username string
	// Token is the personal access token sent as PRIVATE-TOKEN (or "Authorization: Bearer").
	Token string
	// Admin users have the Owner role everywhere.
	Admin bool
	// Roles are the user's memberships: access level by group or project full path. A group
	// membership is inherited by its subgroups and projects; the highest level counts.
	Roles map[string]int
	// Bot makes the user a project or group bot: Token is then a project or group access
	// token. GitLab's policies never let a bot create access tokens (prevent
	// :create_resource_access_tokens), whatever its role; it may create deploy tokens.
	Bot bool
	// Scopes of Token; nil means [api]. Without api, GitLab answers writes 403
	// insufficient_scope (read_api still reads).
	Scopes []string
	// ExpiresAt is when Token stops working (zero: never); Revoked revokes it. GitLab then
	// answers 401 {"error":"invalid_token",…} instead of its usual 401.
	ExpiresAt time.Time
	Revoked   bool

	id        int64 // user id; the token's id is the same
	createdAt time.Time
}

// AddUser adds a user; its token must be new. It lets a test play a second identity, e.g. a
// Developer who may not create deploy tokens.
func (s *Server) AddUser(u User) error {
	if u.Username == "" || u.Token == "" {
		return fmt.Errorf("gitlabdouble: user needs a username and a token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.users {
		if o.Token == u.Token || o.Username == u.Username {
			return fmt.Errorf("gitlabdouble: user %q or its token already exists", u.Username)
		}
	}
	roles := map[string]int{}
	for path, level := range u.Roles {
		if s.lookupPath(kindGroup, path) == nil && s.lookupPath(kindProject, path) == nil {
			return fmt.Errorf("gitlabdouble: user %q has a role in %q, which does not exist", u.Username, path)
		}
		roles[strings.ToLower(path)] = level
	}
	u.Roles = roles
	if u.Scopes == nil {
		u.Scopes = []string{"api"}
	}
	u.Scopes = slices.Clone(u.Scopes)
	u.id = int64(len(s.users) + 1)
	u.createdAt = s.now()
	s.users = append(s.users, &u)
	return nil
}

// UpdateUser changes a user's token as GitLab's admins and clocks do: edit may set Bot,
// Scopes, ExpiresAt and Revoked (username, token and roles stay).
func (s *Server) UpdateUser(username string, edit func(u *User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == username {
			c := *u
			edit(&c)
			u.Bot, u.Scopes, u.ExpiresAt, u.Revoked = c.Bot, slices.Clone(c.Scopes), c.ExpiresAt, c.Revoked
			if u.Scopes == nil {
				u.Scopes = []string{"api"}
			}
			return nil
		}
	}
	return fmt.Errorf("gitlabdouble: no user %q", username)
}

// apiUser authenticates an API request by its personal access token, as GitLab's
// find_user_from_access_token and API guard do (PRIVATE-TOKEN header, or an OAuth-style Bearer
// token): no or an unknown token is 401 "401 Unauthorized", an expired or revoked one 401
// invalid_token, and a token without the scope the request needs 403 insufficient_scope. The
// caller must hold s.mu.
func (s *Server) apiUser(r *http.Request) (*User, *apiError) {
	u, e := s.tokenUser(r)
	if e != nil {
		return nil, e
	}
	readOnly := r.Method == http.MethodGet || r.Method == http.MethodHead
	readAllowed := readOnly && slices.Contains(u.Scopes, "read_api")
	if !slices.Contains(u.Scopes, "api") && !readAllowed {
		return nil, errInsufficientScope
	}
	return u, nil
}

// tokenUser is apiUser without the scope check: what /personal_access_tokens/self does, which
// any scope may call. The caller must hold s.mu.
func (s *Server) tokenUser(r *http.Request) (*User, *apiError) {
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = bearer
		}
	}
	if tok == "" {
		return nil, errUnauthorized
	}
	u := s.userByToken(tok)
	switch {
	case u == nil:
		return nil, errUnauthorized
	case u.Revoked:
		return nil, errTokenRevoked
	case !u.ExpiresAt.IsZero() && !s.now().Before(u.ExpiresAt):
		return nil, errTokenExpired
	}
	return u, nil
}

// tokenActive: the user's token is neither revoked nor expired.
func (u *User) tokenActive(now time.Time) bool {
	return !u.Revoked && (u.ExpiresAt.IsZero() || now.Before(u.ExpiresAt))
}

// userByToken finds the user whose personal access token is tok. The caller must hold s.mu.
func (s *Server) userByToken(tok string) *User {
	for _, u := range s.users {
		if subtle.ConstantTimeCompare([]byte(u.Token), []byte(tok)) == 1 {
			return u
		}
	}
	return nil
}

// role is u's access level in ns: the highest of its memberships in ns and ns's ancestors.
func (u *User) role(ns *namespace) int {
	if u.Admin {
		return Owner
	}
	best := 0
	for n := ns; n != nil; n = n.parent {
		best = max(best, u.Roles[strings.ToLower(n.path)])
	}
	return best
}

// visible reports whether u can see ns at all: every project and group of the double is
// private, so only members (at any level) and admins see it; others get 404.
func (u *User) visible(ns *namespace) bool { return u.role(ns) > 0 }
