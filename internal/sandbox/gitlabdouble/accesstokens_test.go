package gitlabdouble

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A group access token: created with a date expiry and an access level, listed, revoked (still
// listed, revoked), and a second revoke answers 404.
func TestAccessTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	c := f.createAccess("/groups/group-a", "ci", Reporter, "2026-12-25")
	if !strings.HasPrefix(c.Token, "glpat-") || c.ExpiresAt != "2026-12-25" || c.AccessLevel != Reporter || !c.Active {
		t.Fatalf("create answer %+v", c)
	}
	base := "/api/v4/groups/group-a/access_tokens"
	if r := f.do("DELETE", fmt.Sprintf("%s/%d", base, c.ID), ownerToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	var list []created
	f.do("GET", base, ownerToken, nil).decode(t, &list)
	if len(list) != 1 || !list[0].Revoked || list[0].Active || list[0].Token != "" {
		t.Fatalf("list after revoke %+v", list)
	}
	var active []created
	f.do("GET", base+"?state=active", ownerToken, nil).decode(t, &active)
	if len(active) != 0 {
		t.Fatalf("state=active lists a revoked token: %+v", active)
	}
	f.do("DELETE", fmt.Sprintf("%s/%d", base, c.ID), ownerToken, nil).want(t, 404, "message", "404 group Access Token Not Found")
	f.do("GET", base+"/999", ownerToken, nil).want(t, 404, "message", "404 group Access Token Not Found")
}

// GitLab's answers without the role: 401 on a list, 400 on a create; and the expiry rules.
func TestAccessTokenRulesAndLimits(t *testing.T) {
	f := newFixture(t)
	base := "/api/v4/groups/group-a/access_tokens"
	body := func(expires string, level int) map[string]any {
		return map[string]any{"name": "x", "scopes": []string{"read_registry"}, "access_level": level, "expires_at": expires}
	}
	f.do("GET", base, "", nil).want(t, 401, "message", "401 Unauthorized")
	f.do("GET", base, maintToken, nil).want(t, 401, "message", "401 Unauthorized")
	f.do("POST", base, maintToken, body("2026-12-25", Reporter)).want(t, 400, "message", "User does not have permission to create group access token")
	// A project's access tokens need only Maintainer.
	if r := f.do("POST", "/api/v4/projects/group-a%2Fapp/access_tokens", maintToken, body("2026-12-25", Reporter)); r.status != 201 {
		t.Fatalf("maintainer on a project: %d %s", r.status, r.body)
	}
	f.do("POST", "/api/v4/projects/group-a%2Fapp/access_tokens", maintToken, body("2026-12-25", Owner)).want(t, 400, "message", "permissions not held by the creating user")

	// Today is 2026-11-24: 365 days ahead is the last date allowed.
	f.do("POST", base, ownerToken, body("2027-11-25", Reporter)).want(t, 400, "message", "Expiration date must be before 2027-11-24")
	f.createAccess("/groups/group-a", "max", Reporter, "2027-11-24")
	f.do("POST", base, ownerToken, body("2026-11-24", Reporter)).want(t, 400, "message", "must be in the future")
	f.do("POST", base, ownerToken, body("", Reporter)).want(t, 400, "message", "Expires at can't be blank")
	f.do("POST", base, ownerToken, body("2026-12-25", 25)).want(t, 400, "error", "access_level does not have a valid value")
	// An admin lowers the instance limit.
	f.s.SetMaxTokenLifetimeDays(30)
	f.do("POST", base, ownerToken, body("2027-01-01", Reporter)).want(t, 400, "message", "Expiration date must be before 2026-12-24")
}

// Rotate revokes the old token at once; rotating a revoked token revokes the family. The
// rotator never calls it; the double has it so a test can show why.
func TestAccessTokenRotateRevokesAtOnce(t *testing.T) {
	f := newFixture(t)
	old := f.createAccess("/projects/group-a%2Fapp", "ci", Reporter, "2026-12-25")
	r := f.do("POST", fmt.Sprintf("/api/v4/projects/group-a%%2Fapp/access_tokens/%d/rotate", old.ID), ownerToken, nil)
	var nt created
	r.decode(t, &nt)
	if r.status != 200 || nt.Token == "" || nt.ID == old.ID || nt.Name != "ci" {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if f.pulls("any", old.Token, "group-a/app") {
		t.Fatal("the rotated token still pulls")
	}
	if !f.pulls("any", nt.Token, "group-a/app") {
		t.Fatal("the new token does not pull")
	}
	f.do("POST", fmt.Sprintf("/api/v4/projects/group-a%%2Fapp/access_tokens/%d/rotate", old.ID), ownerToken, nil).want(t, 400, "message", "Token already revoked")
	if f.pulls("any", nt.Token, "group-a/app") {
		t.Fatal("rotating a revoked token must revoke its family")
	}
}
