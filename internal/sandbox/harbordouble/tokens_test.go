package harbordouble

import (
	"net/http"
	"testing"
)

func TestTokenAdmin(t *testing.T) {
	f := newFixture(t)
	status, claims := f.token(admin, "repository:proj-a/app:pull", "repository:proj-b/team/app:push", "repository:nope/app:pull", "registry:catalog:*")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if claims.Subject != adminUser || claims.Issuer != "harbor-token-issuer" || claims.Audience != "harbor-registry" {
		t.Fatalf("claims = %+v", claims)
	}
	// Harbor grants every action the caller holds, whatever was asked for.
	all := []string{"pull", "push", "delete", "scanner-pull"}
	for repo, want := range map[string][]string{"proj-a/app": all, "proj-b/team/app": all, "nope/app": {}} {
		if got := claims.Actions("repository", repo); !equalJSON(got, want) && (len(want) != 0 || len(got) != 0) {
			t.Errorf("%s: %v, want %v", repo, got, want)
		}
	}
	if got := claims.Actions("registry", "catalog"); !equalJSON(got, []string{"*"}) {
		t.Errorf("catalog: %v", got)
	}
}

// A robot of project A gets pull on A only; push only when its permission holds push.
func TestTokenRobotScopedToItsProject(t *testing.T) {
	f := newFixture(t)
	a := f.createRobot(pullRobot("ci", "proj-a", 30))
	robotA := cred{a.Name, a.Secret}
	status, claims := f.token(robotA, "repository:proj-a/app:pull,push", "repository:proj-b/app:pull", "registry:catalog:*")
	if status != 200 || claims.Subject != "robot$proj-a+ci" {
		t.Fatalf("status %d claims %+v", status, claims)
	}
	if got := claims.Actions("repository", "proj-a/app"); !equalJSON(got, []string{"pull"}) {
		t.Errorf("own project: %v", got)
	}
	if got := claims.Actions("repository", "proj-b/app"); len(got) != 0 {
		t.Errorf("other project: %v", got)
	}
	if got := claims.Actions("registry", "catalog"); len(got) != 0 {
		t.Errorf("catalog: %v", got)
	}

	pusher := pullRobot("pusher", "proj-b", 30)
	pusher["permissions"] = []any{map[string]any{"kind": "project", "namespace": "proj-b", "access": []any{
		map[string]any{"resource": "repository", "action": "pull"},
		map[string]any{"resource": "repository", "action": "push"},
		map[string]any{"resource": "artifact", "action": "read"},
	}}}
	p := f.createRobot(pusher)
	if got := f.pullActions(cred{p.Name, p.Secret}, "proj-b/app"); !equalJSON(got, []string{"pull", "push"}) {
		t.Errorf("pusher: %v", got)
	}
	denied := pullRobot("denied", "proj-a", 30)
	denied["permissions"] = []any{map[string]any{"kind": "project", "namespace": "proj-a", "access": []any{
		map[string]any{"resource": "repository", "action": "pull", "effect": "deny"},
	}}}
	d := f.createRobot(denied)
	if got := f.pullActions(cred{d.Name, d.Secret}, "proj-a/app"); len(got) != 0 {
		t.Errorf("deny effect: %v", got)
	}
}

// Harbor answers a bad credential with an anonymous token when a scope is asked for
// (goharbor/harbor#11632) and 401 only to a login probe without scope.
func TestTokenBadCredentials(t *testing.T) {
	f := newFixture(t)
	a := f.createRobot(pullRobot("ci", "proj-a", 30))
	for name, c := range map[string]cred{
		"wrong robot secret": {a.Name, a.Secret + "x"},
		"unknown robot":      {"robot$proj-a+ghost", a.Secret},
		"wrong admin pass":   {adminUser, "nope"},
		"anonymous":          {},
	} {
		status, claims := f.token(c, "repository:proj-a/app:pull")
		if status != 200 || claims.Subject != "" || len(claims.Actions("repository", "proj-a/app")) != 0 {
			t.Errorf("%s with scope: %d %+v", name, status, claims)
		}
		if status, _ := f.token(c); status != http.StatusUnauthorized {
			t.Errorf("%s without scope: %d, want 401", name, status)
		}
	}
	// A good credential may log in without scope.
	if status, claims := f.token(cred{a.Name, a.Secret}); status != 200 || len(claims.Access) != 0 {
		t.Errorf("robot login: %d %+v", status, claims)
	}
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t)
	if r := f.do("GET", "/service/token?service=other&scope=repository:proj-a/app:pull", nil, admin); r.status != 400 {
		t.Errorf("unknown service: %d", r.status)
	}
	if r := f.do("POST", "/service/token?service=harbor-registry", nil, admin); r.status != 405 {
		t.Errorf("POST: %d", r.status)
	}
	if r := f.do("GET", "/service/token?service=harbor-registry&scope=repository", nil, admin); r.status != 400 {
		t.Errorf("malformed scope: %d", r.status)
	}
}
