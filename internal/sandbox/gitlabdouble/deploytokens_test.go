package gitlabdouble

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The lifecycle of a group deploy token through its URL-encoded path: create (value only in the
// answer, default user name, datetime expiry), list, get, delete, and 404 afterwards.
func TestDeployTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	c := f.createDeploy("/groups/group-a%2Fsub", "ci", map[string]any{"expires_at": "2026-12-25T00:00:00Z"})
	if !strings.HasPrefix(c.Token, "gldt-") || c.Username != fmt.Sprintf("gitlab+deploy-token-%d", c.ID) {
		t.Fatalf("create answer %+v", c)
	}
	if c.ExpiresAt != "2026-12-25T00:00:00.000Z" || len(c.Scopes) != 1 || c.Scopes[0] != "read_registry" {
		t.Fatalf("create answer %+v", c)
	}
	snap := f.s.DeployTokens()
	if len(snap) != 1 || snap[0].Holder != "group-a/sub" || snap[0].HolderKind != "group" {
		t.Fatalf("snapshot %+v", snap)
	}

	base := "/api/v4/groups/group-a%2Fsub/deploy_tokens"
	var list []created
	r := f.do("GET", base, ownerToken, nil)
	r.decode(t, &list)
	if r.status != 200 || len(list) != 1 || list[0].Token != "" || list[0].Name != "ci" {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	// By numeric id (group-a/sub is group 2) the same token.
	if r := f.do("GET", fmt.Sprintf("/api/v4/groups/2/deploy_tokens/%d", c.ID), ownerToken, nil); r.status != 200 || strings.Contains(string(r.body), c.Token) {
		t.Fatalf("get by numeric group id: %d %s", r.status, r.body)
	}
	if r := f.do("DELETE", fmt.Sprintf("%s/%d", base, c.ID), ownerToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	f.do("GET", fmt.Sprintf("%s/%d", base, c.ID), ownerToken, nil).want(t, 404, "message", "404 Not found")
	f.do("DELETE", fmt.Sprintf("%s/%d", base, c.ID), ownerToken, nil).want(t, 404, "message", "404 Not found")
	// A token of another holder is not found through this one.
	other := f.createDeploy("/projects/group-b%2Fother", "x", nil)
	f.do("GET", fmt.Sprintf("%s/%d", base, other.ID), ownerToken, nil).want(t, 404, "message", "404 Not found")
}

// Paths must be URL-encoded: an unencoded project path matches no route.
func TestDeployTokenPathsAreURLEncoded(t *testing.T) {
	f := newFixture(t)
	f.createDeploy("/projects/group-a%2Fapp", "ci", map[string]any{"username": "puller"})
	if r := f.do("GET", "/api/v4/projects/1/deploy_tokens", ownerToken, nil); r.status != 200 || !strings.Contains(string(r.body), `"puller"`) {
		t.Fatalf("by project id: %d %s", r.status, r.body)
	}
	f.do("GET", "/api/v4/projects/group-a/app/deploy_tokens", ownerToken, nil).want(t, 404, "error", "404 Not Found")
	f.do("GET", "/api/v4/projects/group-a%2Fnope/deploy_tokens", ownerToken, nil).want(t, 404, "message", "404 Project Not Found")
	f.do("GET", "/api/v4/groups/nope/deploy_tokens", ownerToken, nil).want(t, 404, "message", "404 Group Not Found")
}

// Who may do what: no token 401, a non-member 404 (private groups are invisible), a Developer
// 403; a Maintainer may manage a project's deploy tokens but not a group's (Owner only).
func TestDeployTokenPermissions(t *testing.T) {
	f := newFixture(t)
	body := map[string]any{"name": "x", "scopes": []string{"read_registry"}}
	f.do("POST", "/api/v4/groups/group-a/deploy_tokens", "", body).want(t, 401, "message", "401 Unauthorized")
	f.do("POST", "/api/v4/groups/group-a/deploy_tokens", "glpat-wrong", body).want(t, 401, "message", "401 Unauthorized")
	f.do("POST", "/api/v4/groups/group-a/deploy_tokens", strangerTok, body).want(t, 404, "message", "404 Group Not Found")
	f.do("POST", "/api/v4/groups/group-a/deploy_tokens", devToken, body).want(t, 403, "message", "403 Forbidden")
	f.do("GET", "/api/v4/groups/group-a/deploy_tokens", devToken, nil).want(t, 403, "message", "403 Forbidden")
	f.do("POST", "/api/v4/groups/group-a/deploy_tokens", maintToken, body).want(t, 403, "message", "403 Forbidden")
	if r := f.do("POST", "/api/v4/projects/group-a%2Fapp/deploy_tokens", maintToken, body); r.status != 201 {
		t.Fatalf("maintainer on a project: %d %s", r.status, r.body)
	}
	if len(f.s.DeployTokens()) != 1 {
		t.Fatal("a refused create stored a token")
	}
}

// Grape's parameter checks (400 {"error"}) and the model's (400 {"message"}).
func TestDeployTokenValidation(t *testing.T) {
	f := newFixture(t)
	path := "/api/v4/groups/group-a/deploy_tokens"
	f.do("POST", path, ownerToken, map[string]any{}).want(t, 400, "error", "name is missing, scopes is missing")
	f.do("POST", path, ownerToken, map[string]any{"name": "x", "scopes": []string{"pull"}}).want(t, 400, "error", "scopes does not have a valid value")
	f.do("POST", path, ownerToken, map[string]any{"name": "x", "scopes": []string{"read_registry"}, "expires_at": "soon"}).want(t, 400, "error", "expires_at is invalid")
	f.do("POST", path, ownerToken, map[string]any{"name": "x", "scopes": []string{}}).want(t, 400, "message", "Scopes can't be blank")
	f.do("POST", path, ownerToken, map[string]any{"name": "x", "scopes": []string{"read_registry"}, "username": "a b"}).want(t, 400, "message", "Username can contain only")
	f.do("POST", path, ownerToken, map[string]any{"name": "x", "scopes": []string{"read_registry"}, "color": "red"}).want(t, 400, "error", "unknown field")
	// A bare date is a datetime at midnight UTC.
	c := f.createDeploy("/groups/group-a", "d", map[string]any{"expires_at": "2027-01-02"})
	if c.ExpiresAt != "2027-01-02T00:00:00.000Z" {
		t.Fatalf("expires_at %q", c.ExpiresAt)
	}
}

// Lists page with GitLab's headers; ?active=true leaves out expired tokens.
func TestDeployTokenPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 45 {
		f.createDeploy("/groups/group-a", fmt.Sprintf("t%02d", i), nil)
	}
	var names []string
	for page := "1"; page != ""; {
		r := f.do("GET", "/api/v4/groups/group-a/deploy_tokens?per_page=20&page="+page, ownerToken, nil)
		var list []created
		r.decode(t, &list)
		for _, c := range list {
			names = append(names, c.Name)
		}
		if r.header.Get("X-Total") != "45" || r.header.Get("X-Total-Pages") != "3" || r.header.Get("X-Per-Page") != "20" {
			t.Fatalf("page %s headers %v", page, r.header)
		}
		if !strings.Contains(r.header.Get("Link"), `rel="last"`) {
			t.Fatalf("Link %q", r.header.Get("Link"))
		}
		page = r.header.Get("X-Next-Page")
	}
	if len(names) != 45 || names[0] != "t00" || names[44] != "t44" {
		t.Fatalf("walked %d tokens: %v", len(names), names)
	}
	// per_page is capped at 100; the default is 20.
	if r := f.do("GET", "/api/v4/groups/group-a/deploy_tokens?per_page=500", ownerToken, nil); r.header.Get("X-Per-Page") != "100" || r.header.Get("X-Next-Page") != "" {
		t.Fatalf("per_page=500: %v", r.header)
	}
	if r := f.do("GET", "/api/v4/groups/group-a/deploy_tokens", ownerToken, nil); r.header.Get("X-Per-Page") != "20" || r.header.Get("X-Next-Page") != "2" {
		t.Fatalf("default paging: %v", r.header)
	}

	f.createDeploy("/groups/group-b", "soon", map[string]any{"expires_at": "2026-11-25T00:00:00Z"})
	f.createDeploy("/groups/group-b", "later", map[string]any{"expires_at": "2027-11-25T00:00:00Z"})
	f.clock.Advance(24 * time.Hour)
	var active []created
	f.do("GET", "/api/v4/groups/group-b/deploy_tokens?active=true", ownerToken, nil).decode(t, &active)
	if len(active) != 1 || active[0].Name != "later" {
		t.Fatalf("active tokens %+v", active)
	}
}
