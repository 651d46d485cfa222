package harbordouble

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

func TestCreateProjectRobot(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "/api/v2.0/robots", pullRobot("ci", "proj-a", 30), admin)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var got models.RobotCreated
	r.decode(t, &got)
	if got.ID != 1 || got.Name != "robot$proj-a+ci" || !validSecret(got.Secret) {
		t.Fatalf("created = %+v", got)
	}
	if loc := r.header.Get("Location"); loc != "/api/v2.0/robots/1" {
		t.Errorf("Location = %q", loc)
	}
	created := f.clock.Now()
	if time.Time(got.CreationTime) != created || got.ExpiresAt != created.AddDate(0, 0, 30).Unix() {
		t.Errorf("creation %v expires %d, want %v and +30 days", got.CreationTime, got.ExpiresAt, created)
	}

	robots := f.s.Robots()
	if len(robots) != 1 {
		t.Fatalf("robots = %+v", robots)
	}
	rb := robots[0]
	if rb.Level != LevelProject || rb.ProjectID != 1 || rb.Duration != 30 || rb.Disabled || rb.Description != "rotator" {
		t.Errorf("stored robot = %+v", rb)
	}
	want := []Permission{{Kind: "project", Namespace: "proj-a", Access: []RobotAccess{{Resource: "repository", Action: "pull"}}}}
	if !equalJSON(rb.Permissions, want) {
		t.Errorf("permissions = %+v", rb.Permissions)
	}
}

func TestCreateSystemRobotOverSeveralProjects(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(map[string]any{
		"name": "fleet", "level": "system", "duration": -1,
		"permissions": []any{
			map[string]any{"kind": "project", "namespace": "proj-a", "access": []any{map[string]any{"resource": "repository", "action": "pull"}}},
			map[string]any{"kind": "project", "namespace": "proj-b", "access": []any{map[string]any{"resource": "repository", "action": "pull"}}},
		},
	})
	if got.Name != "robot$fleet" || got.ExpiresAt != -1 {
		t.Fatalf("created = %+v", got)
	}
	rb := f.s.Robots()[0]
	if rb.Level != LevelSystem || rb.ProjectID != 0 || len(rb.Permissions) != 2 {
		t.Fatalf("stored = %+v", rb)
	}
	robot := cred{got.Name, got.Secret}
	for _, p := range []string{"proj-a", "proj-b"} {
		if acts := f.pullActions(robot, p+"/app"); !equalJSON(acts, []string{"pull"}) {
			t.Errorf("%s: actions %v", p, acts)
		}
	}
}

func TestCustomRobotPrefix(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RobotPrefix = "bot_" })
	got := f.createRobot(pullRobot("ci", "proj-a", 1))
	if got.Name != "bot_proj-a+ci" {
		t.Fatalf("name = %q", got.Name)
	}
	if acts := f.pullActions(cred{got.Name, got.Secret}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("actions %v", acts)
	}
}

// Every malformed or forbidden create is refused with Harbor's status, code and message.
func TestCreateRefused(t *testing.T) {
	perm := func(kind, ns, resource, action string) map[string]any {
		return map[string]any{"kind": kind, "namespace": ns, "access": []any{map[string]any{"resource": resource, "action": action}}}
	}
	with := func(edit func(map[string]any)) map[string]any {
		b := pullRobot("ci", "proj-a", 30)
		edit(b)
		return b
	}
	tests := []struct {
		name        string
		body        any
		cred        cred
		contentType string
		status      int
		code, msg   string
	}{
		{"malformed JSON", `{"name": "ci",`, admin, "", 422, "UNPROCESSABLE_ENTITY", `parsing robot body from "" failed`},
		{"not an object", `[1,2]`, admin, "", 422, "UNPROCESSABLE_ENTITY", "parsing robot body"},
		{"unknown field", with(func(b map[string]any) { b["expires"] = 3 }), admin, "", 422, "UNPROCESSABLE_ENTITY", `unknown field "expires"`},
		{"duration as string", with(func(b map[string]any) { b["duration"] = "30" }), admin, "", 422, "UNPROCESSABLE_ENTITY", "parsing robot body"},
		{"trailing data", `{"name":"ci"} {}`, admin, "", 422, "UNPROCESSABLE_ENTITY", "after the JSON value"},
		{"empty body", "", admin, "", 422, "UNPROCESSABLE_ENTITY", "robot in body is required"},
		{"not JSON content type", pullRobot("ci", "proj-a", 30), admin, "text/plain", 422, "UNPROCESSABLE_ENTITY", "unsupported media type"},
		{"upper-case name", pullRobot("CI", "proj-a", 30), admin, "", 400, "BAD_REQUEST", "robot name is not in lower case"},
		{"plus in name", pullRobot("a+b", "proj-a", 30), admin, "", 400, "BAD_REQUEST", "illegal characters"},
		{"leading dash", pullRobot("-ci", "proj-a", 30), admin, "", 400, "BAD_REQUEST", "illegal characters"},
		{"empty name", pullRobot("", "proj-a", 30), admin, "", 400, "BAD_REQUEST", "illegal characters"},
		{"duration 0", pullRobot("ci", "proj-a", 0), admin, "", 400, "BAD_REQUEST", "duration input: 0"},
		{"duration missing", with(func(b map[string]any) { delete(b, "duration") }), admin, "", 400, "BAD_REQUEST", "duration input: 0"},
		{"duration -2", pullRobot("ci", "proj-a", -2), admin, "", 400, "BAD_REQUEST", "duration input: -2"},
		{"unknown level", with(func(b map[string]any) { b["level"] = "global" }), admin, "", 400, "BAD_REQUEST", "level input: global"},
		{"no permissions", with(func(b map[string]any) { b["permissions"] = []any{} }), admin, "", 400, "BAD_REQUEST", "empty permission"},
		{"empty access", with(func(b map[string]any) {
			b["permissions"] = []any{map[string]any{"kind": "project", "namespace": "proj-a", "access": []any{}}}
		}), admin, "", 400, "BAD_REQUEST", "empty access"},
		{"project robot with two permissions", with(func(b map[string]any) {
			b["permissions"] = []any{perm("project", "proj-a", "repository", "pull"), perm("project", "proj-b", "repository", "pull")}
		}), admin, "", 400, "BAD_REQUEST", "bad request permission"},
		{"unknown kind", with(func(b map[string]any) {
			b["permissions"] = []any{perm("cluster", "proj-a", "repository", "pull")}
		}), admin, "", 400, "BAD_REQUEST", "permission level: cluster"},
		{"unknown action", with(func(b map[string]any) {
			b["permissions"] = []any{perm("project", "proj-a", "repository", "fly")}
		}), admin, "", 400, "BAD_REQUEST", "bad request permission: repository:fly"},
		{"system action on a project", with(func(b map[string]any) {
			b["permissions"] = []any{perm("project", "proj-a", "catalog", "read")}
		}), admin, "", 400, "BAD_REQUEST", "bad request permission: catalog:read"},
		{"unknown project", pullRobot("ci", "nope", 30), admin, "", 404, "NOT_FOUND", "project nope not found"},
		{"system robot, unknown project", map[string]any{
			"name": "fleet", "level": "system", "duration": 30,
			"permissions": []any{perm("project", "nope", "repository", "pull")},
		}, admin, "", 404, "NOT_FOUND", "project nope not found"},
		{"system permission outside /", map[string]any{
			"name": "fleet", "level": "system", "duration": 30,
			"permissions": []any{perm("system", "proj-a", "catalog", "read")},
		}, admin, "", 400, "BAD_REQUEST", "unknown namespace"},
		{"anonymous", pullRobot("ci", "proj-a", 30), cred{}, "", 401, "UNAUTHORIZED", "unauthorized"},
		{"wrong password", pullRobot("ci", "proj-a", 30), cred{adminUser, "wrong"}, "", 401, "UNAUTHORIZED", "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var headers []string
			if tt.contentType != "" {
				headers = []string{"Content-Type", tt.contentType}
			}
			r := f.do("POST", "/api/v2.0/robots", tt.body, tt.cred, headers...)
			r.wantError(t, tt.status, tt.code, tt.msg)
			if n := len(f.s.Robots()); n != 0 {
				t.Fatalf("%d robots stored after a refused create", n)
			}
		})
	}
}

func TestCreateByRobotIsForbidden(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	f.do("POST", "/api/v2.0/robots", pullRobot("other", "proj-a", 30), cred{got.Name, got.Secret}).
		wantError(t, 403, "FORBIDDEN", "forbidden")
	f.do("GET", "/api/v2.0/robots", nil, cred{got.Name, got.Secret}).wantError(t, 403, "FORBIDDEN", "forbidden")
}

func TestCreateDuplicateConflicts(t *testing.T) {
	f := newFixture(t)
	f.createRobot(pullRobot("ci", "proj-a", 30))
	f.do("POST", "/api/v2.0/robots", pullRobot("ci", "proj-a", 7), admin).
		wantError(t, 409, "CONFLICT", "robot account 1:proj-a+ci already exists")
	// Same short name in another project is another robot.
	if got := f.createRobot(pullRobot("ci", "proj-b", 30)); got.Name != "robot$proj-b+ci" {
		t.Fatalf("name = %q", got.Name)
	}
}

// Harbor ignores a RobotCreate's secret and disable: the secret is always generated.
func TestCreateIgnoresSecretAndDisable(t *testing.T) {
	f := newFixture(t)
	body := pullRobot("ci", "proj-a", 30)
	body["secret"] = "Chosen-Secret-1"
	body["disable"] = true
	got := f.createRobot(body)
	if got.Secret == "Chosen-Secret-1" || !validSecret(got.Secret) {
		t.Fatalf("secret = %q, want a generated one", got.Secret)
	}
	if f.s.Robots()[0].Disabled {
		t.Fatal("robot created disabled")
	}
	if acts := f.pullActions(cred{got.Name, "Chosen-Secret-1"}, "proj-a/app"); len(acts) != 0 {
		t.Fatalf("the ignored secret pulls: %v", acts)
	}
}

// The secret is in the create answer and nowhere else.
func TestSecretOnlyOnCreate(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	for _, path := range []string{"/api/v2.0/robots/1", "/api/v2.0/robots?q=Level%3Dproject%2CProjectID%3D1"} {
		r := f.do("GET", path, nil, admin)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if strings.Contains(string(r.body), got.Secret) || strings.Contains(string(r.body), `"secret"`) {
			t.Fatalf("%s shows a secret: %s", path, r.body)
		}
	}
	var rb models.Robot
	f.do("GET", "/api/v2.0/robots/1", nil, admin).decode(t, &rb)
	if rb.Name != got.Name || rb.Level != "project" || *rb.Duration != 30 || rb.ExpiresAt != got.ExpiresAt ||
		!rb.Editable || rb.Disable || len(rb.Permissions) != 1 || rb.Permissions[0].Namespace != "proj-a" {
		t.Fatalf("GET = %+v", rb)
	}
}

func TestRefreshSecret(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	old := cred{got.Name, got.Secret}
	if acts := f.pullActions(old, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("before refresh: %v", acts)
	}

	f.clock.Advance(24 * time.Hour)
	r := f.do("PATCH", "/api/v2.0/robots/1", map[string]any{}, admin)
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	var sec models.RobotSec
	r.decode(t, &sec)
	if !validSecret(sec.Secret) || sec.Secret == got.Secret {
		t.Fatalf("new secret %q", sec.Secret)
	}

	// The old secret is dead at once: a token without access, and 401 for a login probe.
	if acts := f.pullActions(old, "proj-a/app"); len(acts) != 0 {
		t.Fatalf("old secret still pulls: %v", acts)
	}
	if status, _ := f.token(old); status != http.StatusUnauthorized {
		t.Fatalf("old secret login: %d", status)
	}
	if acts := f.pullActions(cred{got.Name, sec.Secret}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("new secret: %v", acts)
	}
	rb := f.s.Robots()[0]
	if rb.ExpiresAt != got.ExpiresAt || rb.SecretRefreshes != 1 {
		t.Fatalf("after refresh: expires %d (was %d), refreshes %d", rb.ExpiresAt, got.ExpiresAt, rb.SecretRefreshes)
	}
}

func TestRefreshWithChosenSecret(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	for _, weak := range []string{"short1A", "alllowercase1", "ALLUPPER1", "NoDigitsHere", strings.Repeat("aA1", 43)} {
		f.do("PATCH", "/api/v2.0/robots/1", map[string]any{"secret": weak}, admin).
			wantError(t, 400, "BAD_REQUEST", "the secret must be 8-128")
	}
	r := f.do("PATCH", "/api/v2.0/robots/1", map[string]any{"secret": "Chosen-Secret-1"}, admin)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "{}" {
		t.Fatalf("refresh with chosen secret: %d %s, want 200 {}", r.status, r.body)
	}
	if acts := f.pullActions(cred{got.Name, "Chosen-Secret-1"}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("chosen secret: %v", acts)
	}
	f.do("PATCH", "/api/v2.0/robots/1", "", admin).wantError(t, 422, "UNPROCESSABLE_ENTITY", "robotSec in body is required")
	f.do("PATCH", "/api/v2.0/robots/9", map[string]any{}, admin).wantError(t, 404, "NOT_FOUND", "robot 9 not found")
}

func TestDeleteRobot(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	robot := cred{got.Name, got.Secret}
	if r := f.do("DELETE", "/api/v2.0/robots/1", nil, admin); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	f.do("GET", "/api/v2.0/robots/1", nil, admin).wantError(t, 404, "NOT_FOUND", "robot 1 not found")
	f.do("DELETE", "/api/v2.0/robots/1", nil, admin).wantError(t, 404, "NOT_FOUND", "robot 1 not found")

	// A deleted robot cannot log in (401) and gets no access (200, empty access, as Harbor).
	if status, _ := f.token(robot); status != http.StatusUnauthorized {
		t.Fatalf("deleted robot login: %d, want 401", status)
	}
	if acts := f.pullActions(robot, "proj-a/app"); len(acts) != 0 {
		t.Fatalf("deleted robot pulls: %v", acts)
	}
	// The name is free again.
	f.createRobot(pullRobot("ci", "proj-a", 30))
}

func TestRobotIDMustBeInteger(t *testing.T) {
	f := newFixture(t)
	f.do("GET", "/api/v2.0/robots/abc", nil, admin).
		wantError(t, 422, "UNPROCESSABLE_ENTITY", `robot_id in path must be of type int64: "abc"`)
	f.do("GET", "/api/v2.0/robots/1", nil, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
}

func TestUpdateRobot(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	robot := cred{got.Name, got.Secret}
	var rb models.Robot
	f.do("GET", "/api/v2.0/robots/1", nil, admin).decode(t, &rb)

	put := func(edit func(*models.Robot)) reply {
		body := rb
		d := *rb.Duration
		body.Duration = &d
		edit(&body)
		return f.do("PUT", "/api/v2.0/robots/1", body, admin)
	}
	// A longer duration counts from the creation time, not from now.
	f.clock.Advance(10 * 24 * time.Hour)
	if r := put(func(b *models.Robot) { d := int64(90); b.Duration = &d }); r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	if s := f.s.Robots()[0]; s.ExpiresAt != time.Time(rb.CreationTime).AddDate(0, 0, 90).Unix() || s.Duration != 90 {
		t.Fatalf("after PUT: %+v", s)
	}
	if r := put(func(b *models.Robot) { d := int64(-1); b.Duration = &d }); r.status != 200 || f.s.Robots()[0].ExpiresAt != -1 {
		t.Fatalf("never expires: %d %s %+v", r.status, r.body, f.s.Robots()[0])
	}

	// Disabled: no access.
	if r := put(func(b *models.Robot) { b.Disable = true }); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if acts := f.pullActions(robot, "proj-a/app"); len(acts) != 0 {
		t.Fatalf("disabled robot pulls: %v", acts)
	}
	if r := put(func(b *models.Robot) { b.Disable = false }); r.status != 200 {
		t.Fatalf("enable: %d", r.status)
	}
	if acts := f.pullActions(robot, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("re-enabled robot: %v", acts)
	}

	put(func(b *models.Robot) { b.Name = "robot$proj-a+other" }).wantError(t, 400, "BAD_REQUEST", "cannot update the level or name")
	put(func(b *models.Robot) { b.Permissions[0].Namespace = "proj-b" }).wantError(t, 400, "BAD_REQUEST", "cannot update the project id")
	put(func(b *models.Robot) { d := int64(0); b.Duration = &d }).wantError(t, 400, "BAD_REQUEST", "duration input: 0")
	f.do("PUT", "/api/v2.0/robots/1", `{"name":`, admin).wantError(t, 422, "UNPROCESSABLE_ENTITY", "parsing robot body")
}

// An expired robot stays listed but gets no access, as Harbor keeps expired robots (#16850).
func TestExpiredRobot(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 1))
	never := f.createRobot(pullRobot("forever", "proj-a", -1))
	f.clock.Advance(24*time.Hour - time.Second)
	if acts := f.pullActions(cred{got.Name, got.Secret}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("just before expiry: %v", acts)
	}
	f.clock.Advance(time.Second)
	status, claims := f.token(cred{got.Name, got.Secret}, "repository:proj-a/app:pull")
	if status != 200 || len(claims.Actions("repository", "proj-a/app")) != 0 || claims.Subject != "" {
		t.Fatalf("expired robot: %d %+v", status, claims)
	}
	if len(f.s.Robots()) != 2 {
		t.Fatal("expired robot was removed")
	}
	f.clock.Advance(10 * 365 * 24 * time.Hour)
	if acts := f.pullActions(cred{never.Name, never.Secret}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("never-expiring robot: %v", acts)
	}
}

func TestConcurrentCreates(t *testing.T) {
	f := newFixture(t)
	const n = 20
	var wg sync.WaitGroup
	ids := make(chan int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.do("POST", "/api/v2.0/robots", pullRobot("r"+"abcdefghijklmnopqrstuvwxyz"[i:i+1], "proj-a", 30), admin)
			var c models.RobotCreated
			if err := json.Unmarshal(r.body, &c); err != nil || r.status != 201 {
				t.Errorf("create %d: %d %s", i, r.status, r.body)
			}
			ids <- c.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %d given twice", id)
		}
		seen[id] = true
	}
	if len(f.s.Robots()) != n {
		t.Fatalf("%d robots", len(f.s.Robots()))
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
