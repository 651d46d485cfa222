package harbordouble

import (
	"net/http"
	"testing"
	"time"
)

// sleeps records the double's failed-login sleeps; advance moves the fixture's clock too.
type sleepLog struct {
	c       *clock
	advance bool
	got     []time.Duration
}

func (l *sleepLog) sleep(d time.Duration) {
	l.got = append(l.got, d)
	if l.advance {
		l.c.Advance(d)
	}
}

func newLoginFixture(t *testing.T, edit ...func(*Options)) (*fixture, *sleepLog) {
	l := &sleepLog{}
	f := newFixture(t, append([]func(*Options){func(o *Options) { o.Sleep = l.sleep }}, edit...)...)
	l.c = f.clock
	return f, l
}

// A failed login sleeps 1.5 s and locks the name for 1.5 s from the failure, so a request made
// meanwhile fails even with the right password; a robot's right secret is not affected.
func TestFailedLoginLocksName(t *testing.T) {
	f, sleeps := newLoginFixture(t)
	rb := f.createRobot(pullRobot("ci", "proj-a", 30))
	f.do("GET", "/api/v2.0/robots", nil, cred{adminUser, "wrong"}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	if len(sleeps.got) != 1 || sleeps.got[0] != 1500*time.Millisecond {
		t.Fatalf("sleeps = %v, want one of 1.5s", sleeps.got)
	}
	f.clock.Advance(time.Second)
	f.do("GET", "/api/v2.0/robots", nil, admin).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	if len(sleeps.got) != 1 {
		t.Fatalf("a locked name sleeps again: %v", sleeps.got)
	}
	if acts := f.pullActions(cred{rb.Name, rb.Secret}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
		t.Fatalf("robot during the admin's lock: %v", acts)
	}
	f.clock.Advance(500 * time.Millisecond)
	if r := f.do("GET", "/api/v2.0/robots", nil, admin); r.status != http.StatusOK {
		t.Fatalf("after the lock: %d", r.status)
	}
	// A robot's wrong secret falls through to a login, which fails and sleeps.
	f.do("GET", "/api/v2.0/robots", nil, cred{rb.Name, "Wrong-Secret-1"}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	if len(sleeps.got) != 2 {
		t.Fatalf("wrong robot secret: sleeps = %v", sleeps.got)
	}
}

// In oidc_auth mode only the admin and robots may use basic auth on the API; an OIDC user's
// CLI secret works at the registry token service only. Nothing sleeps.
func TestOIDCModeRefusesUsersOnTheAPI(t *testing.T) {
	f, sleeps := newLoginFixture(t, func(o *Options) {
		o.AuthMode = "oidc_auth"
		o.Users = []User{{Name: "alice", Password: "Cli-Secret-1", SystemAdmin: true, ProjectAdmin: []string{"proj-a"}}}
	})
	alice := cred{"alice", "Cli-Secret-1"}
	f.do("GET", "/api/v2.0/robots", nil, alice).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	f.do("GET", "/api/v2.0/projects/proj-a", nil, alice).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	f.do("POST", "/api/v2.0/robots", pullRobot("ci", "proj-a", 30), alice).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	if status, claims := f.token(alice, "repository:proj-a/app:pull"); status != 200 || claims.Subject != "alice" ||
		len(claims.Actions("repository", "proj-a/app")) == 0 {
		t.Fatalf("CLI secret at the token service: %d %+v", status, claims)
	}
	if r := f.do("GET", "/api/v2.0/robots", nil, admin); r.status != http.StatusOK {
		t.Fatalf("local admin in OIDC mode: %d", r.status)
	}
	rb := f.createRobot(pullRobot("ci", "proj-a", 30))
	if r := f.do("GET", "/api/v2.0/projects/proj-a", nil, cred{rb.Name, rb.Secret}); r.status != http.StatusOK {
		t.Fatalf("robot in OIDC mode: %d", r.status)
	}
	if len(sleeps.got) != 0 {
		t.Fatalf("sleeps = %v", sleeps.got)
	}
	var info struct {
		AuthMode string `json:"auth_mode"`
	}
	f.do("GET", "/api/v2.0/systeminfo", nil, cred{}).decode(t, &info)
	if info.AuthMode != "oidc_auth" {
		t.Fatalf("auth_mode = %q", info.AuthMode)
	}
}
