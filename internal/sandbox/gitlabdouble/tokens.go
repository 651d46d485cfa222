package gitlabdouble

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"sort"
	"time"
)

// Token value prefixes GitLab puts in front of generated tokens.
const (
	deployTokenPrefix = "gldt-"
	accessTokenPrefix = "glpat-"
)

// DeployToken is a snapshot of a deploy token for test assertions; it never holds the value.
type DeployToken struct {
	ID       int64
	Name     string
	Username string
	// Holder is the full path of the project or group holding the token; HolderKind
	// "project" or "group".
	Holder, HolderKind string
	Scopes             []string
	// ExpiresAt is nil for a token that never expires.
	ExpiresAt *time.Time
	Revoked   bool
	CreatedAt time.Time
}

// AccessToken is a snapshot of a project or group access token; it never holds the value.
type AccessToken struct {
	ID          int64
	Name        string
	Description string
	// Holder is the full path of the project or group; HolderKind "project" or "group".
	Holder, HolderKind string
	Scopes             []string
	AccessLevel        int
	// ExpiresAt is the expiry date at 00:00 UTC: the token stops working at that instant.
	ExpiresAt time.Time
	Revoked   bool
	CreatedAt time.Time
	// UserID and BotUsername are the bot user GitLab creates for the token.
	UserID      int64
	BotUsername string
}

type deployToken struct {
	DeployToken
	holder  *namespace
	hash    [32]byte
	refused bool // created while SetRegistryRefusesNewTokens was on
}

type accessToken struct {
	AccessToken
	holder  *namespace
	hash    [32]byte
	refused bool
}

// active: not revoked and not expired. A deploy token's expiry is an instant; GitLab's active
// scope is "revoked = false AND expires_at >= NOW()".
func (t *deployToken) active(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// active: not revoked and not past 00:00 UTC of the expiry date.
func (t *accessToken) active(now time.Time) bool {
	return !t.Revoked && now.Before(t.ExpiresAt)
}

// newTokenValue generates a token with GitLab's prefix and returns it with its hash. GitLab
// stores tokens encrypted or digested and shows the value only in the create answer; the
// double keeps only the digest.
func newTokenValue(prefix string) (string, [32]byte) {
	v := prefix + rand.Text()[:20]
	return v, sha256.Sum256([]byte(v))
}

func hashMatches(want [32]byte, value string) bool {
	got := sha256.Sum256([]byte(value))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

func (t *deployToken) hasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }
func (t *accessToken) hasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// DeployTokens returns a snapshot of every deploy token, by id.
func (s *Server) DeployTokens() []DeployToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DeployToken, 0, len(s.deployTokens))
	for _, t := range s.deployTokens {
		c := t.DeployToken
		c.Scopes = slices.Clone(t.Scopes)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AccessTokens returns a snapshot of every project and group access token, revoked ones
// included, by id.
func (s *Server) AccessTokens() []AccessToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccessToken, 0, len(s.accessTokens))
	for _, t := range s.accessTokens {
		c := t.AccessToken
		c.Scopes = slices.Clone(t.Scopes)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// railsTime is how GitLab's API renders a datetime: UTC with milliseconds.
func railsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// deployTokenJSON is Entities::DeployToken (plus token on create, DeployTokenWithToken).
func (t *deployToken) toJSON(now time.Time, withToken string) map[string]any {
	m := map[string]any{
		"id": t.ID, "name": t.Name, "username": t.Username, "expires_at": nil,
		"revoked": t.Revoked, "expired": t.ExpiresAt != nil && !now.Before(*t.ExpiresAt), "scopes": t.Scopes,
	}
	if t.ExpiresAt != nil {
		m["expires_at"] = railsTime(*t.ExpiresAt)
	}
	if withToken != "" {
		m["token"] = withToken
	}
	return m
}

// toJSON is Entities::ResourceAccessToken (plus token on create and rotate).
func (t *accessToken) toJSON(now time.Time, withToken string) map[string]any {
	m := map[string]any{
		"id": t.ID, "name": t.Name, "description": t.Description, "revoked": t.Revoked,
		"created_at": railsTime(t.CreatedAt), "scopes": t.Scopes, "user_id": t.UserID,
		"last_used_at": nil, "active": t.active(now), "expires_at": t.ExpiresAt.Format(time.DateOnly),
		"access_level": t.AccessLevel, "resource_type": t.HolderKind, "resource_id": t.holder.id,
	}
	if withToken != "" {
		m["token"] = withToken
	}
	return m
}
