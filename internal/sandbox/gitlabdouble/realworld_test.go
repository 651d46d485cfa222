package gitlabdouble

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone tests never depend on the machine's zoneinfo
)

const (
	botToken     = "glpat-bot-token"
	readAPIToken = "glpat-read-api-token"
	expiredToken = "glpat-expired-token"
	revokedToken = "glpat-revoked-token"
)

func accessBody(expires string) map[string]any {
	return map[string]any{"name": "x", "scopes": []string{"read_registry"}, "access_level": Reporter, "expires_at": expires}
}

// A group access token's user (a bot) with Owner may create deploy tokens, never access tokens;
// GET /user says it is a bot (issue 14, item 9).
func TestBotAdminCreatesOnlyDeployTokens(t *testing.T) {
	f := newFixture(t)
	if err := f.s.AddUser(User{Username: "group_1_bot_abc", Token: botToken, Bot: true, Roles: map[string]int{"group-a": Owner}}); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"/api/v4/groups/group-a", "/api/v4/projects/group-a%2Fapp"} {
		kind := "group"
		if strings.Contains(base, "projects") {
			kind = "project"
		}
		f.do("POST", base+"/access_tokens", botToken, accessBody("2026-12-25")).
			want(t, 400, "message", "400 Bad request - User does not have permission to create "+kind+" access token")
		if r := f.do("POST", base+"/deploy_tokens", botToken, map[string]any{"name": "d", "scopes": []string{"read_registry"}}); r.status != 201 {
			t.Fatalf("bot with Owner creating a deploy token in %s: %d %s", base, r.status, r.body)
		}
	}
	var who struct {
		Username string `json:"username"`
		Bot      bool   `json:"bot"`
	}
	f.do("GET", "/api/v4/user", botToken, nil).decode(t, &who)
	if !who.Bot || who.Username != "group_1_bot_abc" {
		t.Fatalf("GET /user as the bot: %+v", who)
	}
	f.do("GET", "/api/v4/user", ownerToken, nil).decode(t, &who)
	if who.Bot {
		t.Fatal("a person is reported as a bot")
	}
}

// gitlab.com plans and the creation setting: every refusal is a 400, the trial's second
// project token while the first is active too; Free also refuses to list (issue 14, item 10).
func TestPlansAndCreationSetting(t *testing.T) {
	project, group := "/api/v4/projects/group-a%2Fapp/access_tokens", "/api/v4/groups/group-a/access_tokens"
	noPerm := "User does not have permission to create"

	free := newFixture(t, func(o *Options) { o.Plan = PlanFree })
	free.do("POST", project, ownerToken, accessBody("2026-12-25")).want(t, 400, "message", noPerm+" project access token")
	free.do("POST", group, ownerToken, accessBody("2026-12-25")).want(t, 400, "message", noPerm+" group access token")
	free.do("GET", project, ownerToken, nil).want(t, 401, "message", "401 Unauthorized")
	if r := free.do("POST", "/api/v4/groups/group-a/deploy_tokens", ownerToken, map[string]any{"name": "d", "scopes": []string{"read_registry"}}); r.status != 201 {
		t.Fatalf("deploy token on Free: %d %s", r.status, r.body)
	}

	trial := newFixture(t, func(o *Options) { o.Plan = PlanTrial })
	first := trial.createAccess("/projects/group-a%2Fapp", "first", Reporter, "2026-12-25")
	// Another project of the same top-level group counts too.
	trial.do("POST", "/api/v4/projects/group-a%2Fsub%2Fdeep/access_tokens", ownerToken, accessBody("2026-12-25")).
		want(t, 400, "message", "400 Bad request - Access token limit reached")
	trial.do("POST", group, ownerToken, accessBody("2026-12-25")).want(t, 400, "message", noPerm+" group access token")
	if r := trial.do("DELETE", fmt.Sprintf("%s/%d", project, first.ID), ownerToken, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	trial.createAccess("/projects/group-a%2Fapp", "second", Reporter, "2026-12-25")

	premium := newFixture(t, func(o *Options) { o.Plan = PlanPremium })
	premium.createAccess("/groups/group-a", "g", Reporter, "2026-12-25")
	premium.createAccess("/projects/group-a%2Fapp", "p1", Reporter, "2026-12-25")
	premium.createAccess("/projects/group-a%2Fapp", "p2", Reporter, "2026-12-25")

	off := newFixture(t)
	off.createAccess("/groups/group-a", "before", Reporter, "2026-12-25")
	off.s.SetAccessTokenCreation(false)
	off.do("POST", group, ownerToken, accessBody("2026-12-25")).want(t, 400, "message", noPerm+" group access token")
	if r := off.do("GET", group, ownerToken, nil); r.status != 200 {
		t.Fatalf("list with creation off: %d %s", r.status, r.body)
	}
}

// The lifetime limit counts from today in the instance's time zone, and says so in GitLab's
// words (issue 14, items 12 and 13).
func TestExpiryLimitInInstanceTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("time zone data (embedded by time/tzdata): %v", err)
	}
	// 02:00 UTC on 2026-11-24 is still 2026-11-23 in New York.
	edit := func(tz *time.Location) func(*Options) {
		return func(o *Options) { o.TimeZone = tz }
	}
	base := "/api/v4/groups/group-a/access_tokens"
	nyc := newFixture(t, edit(ny))
	nyc.clock.t = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	nyc.do("POST", base, ownerToken, accessBody("2027-11-24")).want(t, 400, "message", "400 Bad request - Expiration date must be before 2027-11-23")
	nyc.createAccess("/groups/group-a", "ok", Reporter, "2027-11-23")

	utc := newFixture(t, edit(nil))
	utc.clock.t = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	utc.createAccess("/groups/group-a", "ok", Reporter, "2027-11-24")
}

// The API guard's shapes: expired and revoked tokens get 401 invalid_token, a token without
// api 403 insufficient_scope on writes; the application rate limiter answers 429 with a message
// map (issue 14, item 13).
func TestAdminTokenErrorShapes(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	for _, u := range []User{
		{Username: "reader", Token: readAPIToken, Scopes: []string{"read_api"}, Roles: map[string]int{"group-a": Owner}},
		{Username: "old", Token: expiredToken, ExpiresAt: now.Add(-time.Hour), Roles: map[string]int{"group-a": Owner}},
		{Username: "gone", Token: revokedToken, Revoked: true, Roles: map[string]int{"group-a": Owner}},
	} {
		if err := f.s.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	path := "/api/v4/groups/group-a/deploy_tokens"
	f.do("GET", path, expiredToken, nil).want(t, 401, "error_description", "Token is expired")
	r := f.do("GET", path, revokedToken, nil)
	r.want(t, 401, "error", "invalid_token")
	r.want(t, 401, "error_description", "Token was revoked")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	if r := f.do("GET", path, readAPIToken, nil); r.status != 200 {
		t.Fatalf("read_api may read: %d %s", r.status, r.body)
	}
	r = f.do("POST", path, readAPIToken, map[string]any{"name": "d", "scopes": []string{"read_registry"}})
	r.want(t, 403, "error", "insufficient_scope")
	r.want(t, 403, "scope", "api")
	if f.pulls("old", expiredToken, "group-a/app") {
		t.Fatal("an expired personal access token still pulls")
	}

	// An admin revokes the owner's token later.
	if err := f.s.UpdateUser("owner", func(u *User) { u.Revoked = true }); err != nil {
		t.Fatal(err)
	}
	f.do("GET", path, ownerToken, nil).want(t, 401, "error_description", "Token was revoked")
	if err := f.s.UpdateUser("owner", func(u *User) { u.Revoked = false }); err != nil {
		t.Fatal(err)
	}

	f.s.Inject(FaultRateLimited("POST", path, "30"))
	r = f.do("POST", path, ownerToken, map[string]any{"name": "d", "scopes": []string{"read_registry"}})
	var body struct {
		Message struct {
			Error string `json:"error"`
		} `json:"message"`
	}
	r.decode(t, &body)
	if r.status != 429 || r.header.Get("Retry-After") != "30" || !strings.Contains(body.Message.Error, "too many times") {
		t.Fatalf("rate limited: %d %v %s", r.status, r.header, r.body)
	}
}

// GET /personal_access_tokens/self describes the caller's token, whatever its scope.
func TestTokenSelf(t *testing.T) {
	f := newFixture(t)
	if err := f.s.AddUser(User{Username: "reader", Token: readAPIToken, Scopes: []string{"read_api"}}); err != nil {
		t.Fatal(err)
	}
	var self struct {
		Scopes []string `json:"scopes"`
		Active bool     `json:"active"`
		UserID int64    `json:"user_id"`
	}
	r := f.do("GET", "/api/v4/personal_access_tokens/self", readAPIToken, nil)
	r.decode(t, &self)
	if r.status != 200 || !self.Active || len(self.Scopes) != 1 || self.Scopes[0] != "read_api" || self.UserID == 0 {
		t.Fatalf("self: %d %s", r.status, r.body)
	}
	f.do("GET", "/api/v4/personal_access_tokens/self", "glpat-nobody", nil).want(t, 401, "message", "401 Unauthorized")
}

// A proxy that decodes %2F makes every path with a project or group path miss GitLab's
// routes: GitLab's routing 404, not the token's (issue 14, item 14).
func TestProxyDecodingEncodedSlashes(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ProxyDecodesEncodedSlashes = true })
	f.do("GET", "/api/v4/groups/group-a%2Fsub/deploy_tokens", ownerToken, nil).want(t, 404, "error", "404 Not Found")
	f.do("DELETE", "/api/v4/projects/group-a%2Fapp/access_tokens/1", ownerToken, nil).want(t, 404, "error", "404 Not Found")
	if r := f.do("GET", "/api/v4/groups/group-a/deploy_tokens", ownerToken, nil); r.status != http.StatusOK {
		t.Fatalf("a one-segment path: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v4/groups/2/deploy_tokens", ownerToken, nil); r.status != http.StatusOK {
		t.Fatalf("a numeric id: %d %s", r.status, r.body)
	}
	f.s.Inject(FaultProxyNotFound("GET", "/api/v4/groups/group-a/"))
	r := f.do("GET", "/api/v4/groups/group-a/deploy_tokens", ownerToken, nil)
	if r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("proxy page: %d %v", r.status, r.header)
	}
}
