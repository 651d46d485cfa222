package gitlabdouble

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A group deploy token pulls every project below its group and nothing else; it needs its own
// user name; revoked (deleted) and expired tokens are refused with 401.
func TestJWTDeployToken(t *testing.T) {
	f := newFixture(t)
	c := f.createDeploy("/groups/group-a", "ci", map[string]any{"expires_at": "2026-12-01T00:00:00Z"})
	for _, repo := range []string{"group-a/app", "group-a/app/worker", "group-a/sub/deep"} {
		if !f.pulls(c.Username, c.Token, repo) {
			t.Errorf("group token cannot pull %s", repo)
		}
	}
	if f.pulls(c.Username, c.Token, "group-b/other") {
		t.Error("group token pulls outside its group")
	}
	status, claims := f.jwt(c.Username, c.Token, "repository:group-a/app:pull,push")
	if status != 200 || fmt.Sprint(claims.Actions("repository", "group-a/app")) != "[pull]" {
		t.Errorf("read_registry must grant pull only: %d %v", status, claims)
	}
	if status, _ := f.jwt("someone-else", c.Token, "repository:group-a/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("a deploy token with another user name: %d, want 401", status)
	}
	if status, _ := f.jwt(c.Username, c.Token+"x", "repository:group-a/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", status)
	}

	f.clock.Advance(7 * 24 * time.Hour) // past 2026-12-01
	if status, _ := f.jwt(c.Username, c.Token, "repository:group-a/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", status)
	}
	d := f.createDeploy("/projects/group-a%2Fapp", "p", nil)
	if !f.pulls(d.Username, d.Token, "group-a/app") || f.pulls(d.Username, d.Token, "group-a/sub/deep") {
		t.Error("a project token pulls exactly its project")
	}
	f.do("DELETE", fmt.Sprintf("/api/v4/projects/group-a%%2Fapp/deploy_tokens/%d", d.ID), ownerToken, nil)
	if status, _ := f.jwt(d.Username, d.Token, "repository:group-a/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("deleted token: %d, want 401", status)
	}
}

// An access token works with any non-empty user name; it pulls only with Reporter or more; a
// revoked or expired one is refused.
func TestJWTAccessToken(t *testing.T) {
	f := newFixture(t)
	rep := f.createAccess("/groups/group-a", "r", Reporter, "2026-11-26")
	guest := f.createAccess("/groups/group-a", "g", Guest, "2026-12-25")
	if !f.pulls("anything", rep.Token, "group-a/sub/deep") || !f.pulls("x", rep.Token, "group-a/app") {
		t.Error("a Reporter group access token must pull below its group, whatever the user name")
	}
	// An empty user name sends no credentials at all: anonymous, nothing granted.
	if status, claims := f.jwt("", rep.Token, "repository:group-a/app:pull"); status != http.StatusOK || len(claims.Actions("repository", "group-a/app")) != 0 {
		t.Errorf("no user name: %d %+v", status, claims)
	}
	if f.pulls("x", guest.Token, "group-a/app") {
		t.Error("a Guest token must not pull a private project")
	}
	f.clock.Advance(48 * time.Hour) // 2026-11-26 12:00: past 00:00 UTC of the expiry date
	if status, _ := f.jwt("x", rep.Token, "repository:group-a/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("expired access token: %d, want 401", status)
	}
	f.do("DELETE", fmt.Sprintf("/api/v4/groups/group-a/access_tokens/%d", guest.ID), ownerToken, nil)
	if status, _ := f.jwt("x", guest.Token, "repository:group-a/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("revoked access token: %d, want 401", status)
	}
}

// Users' personal access tokens push and pull by role; anonymous callers get nothing; an unknown
// service is 404.
func TestJWTUsersAnonymousAndService(t *testing.T) {
	f := newFixture(t)
	status, claims := f.jwt("owner", ownerToken, "repository:group-a/app:pull,push")
	if status != 200 || fmt.Sprint(claims.Actions("repository", "group-a/app")) != "[pull push]" || claims.Subject != "owner" {
		t.Fatalf("owner: %d %+v", status, claims)
	}
	if f.pulls("stranger", strangerTok, "group-a/app") {
		t.Error("a non-member pulls a private project")
	}
	status, claims = f.jwt("", "", "repository:group-a/app:pull")
	if status != 200 || len(claims.Actions("repository", "group-a/app")) != 0 {
		t.Errorf("anonymous: %d %+v", status, claims)
	}
	if r := f.do("GET", "/jwt/auth?service=other&scope=repository:group-a/app:pull", "", nil); r.status != 404 {
		t.Errorf("unknown service: %d", r.status)
	}
}

// Tokens created while the registry refuses new tokens authenticate but are granted nothing;
// older tokens keep pulling.
func TestRegistryRefusesNewTokens(t *testing.T) {
	f := newFixture(t)
	old := f.createDeploy("/groups/group-a", "old", nil)
	f.s.SetRegistryRefusesNewTokens(true)
	nd := f.createDeploy("/groups/group-a", "new", nil)
	na := f.createAccess("/groups/group-a", "new", Reporter, "2026-12-25")
	f.s.SetRegistryRefusesNewTokens(false)
	if !f.pulls(old.Username, old.Token, "group-a/app") {
		t.Error("the old token must keep pulling")
	}
	for _, c := range []created{nd, na} {
		user := c.Username // access tokens have none in their answer: any name does
		if user == "" {
			user = "bot"
		}
		status, claims := f.jwt(user, c.Token, "repository:group-a/app:pull")
		if status != 200 || len(claims.Actions("repository", "group-a/app")) != 0 {
			t.Errorf("refused token %q: %d %+v", c.Name, status, claims)
		}
	}
}
