package harbordouble

import (
	"net/http"
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// robot_name_prefix is applied when robots are read: a change renames every robot at once, the
// old username stops working, the new one works with the same secret.
func TestRobotPrefixChangeRenamesRobots(t *testing.T) {
	for name, change := range map[string]func(f *fixture){
		"setter": func(f *fixture) { f.s.SetRobotPrefix("robot-") },
		"api": func(f *fixture) {
			if r := f.do("PUT", "/api/v2.0/configurations", map[string]any{"robot_name_prefix": "robot-"}, admin); r.status != 200 {
				t.Fatalf("PUT configurations: %d %s", r.status, r.body)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			a := f.createRobot(pullRobot("ci", "proj-a", 30))
			if a.Name != "robot$proj-a+ci" {
				t.Fatalf("created %q", a.Name)
			}
			change(f)
			var got models.Robot
			f.do("GET", "/api/v2.0/robots/1", nil, admin).decode(t, &got)
			if names, _, _ := f.listNames(q("Level=project,ProjectID=1")); got.Name != "robot-proj-a+ci" || !equalJSON(names, []string{"robot-proj-a+ci"}) {
				t.Fatalf("after the change: get %q, list %v", got.Name, names)
			}
			if s := f.s.Robots()[0]; s.Name != "robot-proj-a+ci" || f.s.RobotPrefix() != "robot-" {
				t.Fatalf("snapshot %q, prefix %q", s.Name, f.s.RobotPrefix())
			}
			if acts := f.pullActions(cred{a.Name, a.Secret}, "proj-a/app"); len(acts) != 0 {
				t.Fatalf("old username still pulls: %v", acts)
			}
			if acts := f.pullActions(cred{"robot-proj-a+ci", a.Secret}, "proj-a/app"); !equalJSON(acts, []string{"pull"}) {
				t.Fatalf("new username: %v", acts)
			}
			var cfg map[string]configValue
			f.do("GET", "/api/v2.0/configurations", nil, admin).decode(t, &cfg)
			if cfg["robot_name_prefix"].Value != "robot-" {
				t.Fatalf("configurations = %+v", cfg)
			}
		})
	}
}

func TestConfigurationsRefused(t *testing.T) {
	f := newFixture(t)
	rb := f.createRobot(pullRobot("ci", "proj-a", 30))
	f.do("PUT", "/api/v2.0/configurations", map[string]any{"robot_name_prefix": "x"}, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	f.do("PUT", "/api/v2.0/configurations", map[string]any{"robot_name_prefix": "x"}, cred{rb.Name, rb.Secret}).wantError(t, 403, "FORBIDDEN", "forbidden")
	f.do("PUT", "/api/v2.0/configurations", map[string]any{"robot_name_prefix": ""}, admin).wantError(t, 400, "BAD_REQUEST", "non-empty")
	f.do("PUT", "/api/v2.0/configurations", map[string]any{"email_host": "x"}, admin).wantError(t, 400, "BAD_REQUEST", "does not model")
	f.do("GET", "/api/v2.0/configurations", nil, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
}

// Read-only mode answers every write 403 DENIED, reads still work, and the setting itself can
// be switched off.
func TestReadOnlyMode(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ReadOnly = true })
	f.do("POST", "/api/v2.0/robots", pullRobot("ci", "proj-a", 30), admin).wantError(t, 403, "DENIED", "read only mode")
	f.do("DELETE", "/api/v2.0/robots/1", nil, admin).wantError(t, 403, "DENIED", "read only mode")
	if r := f.do("GET", "/api/v2.0/robots", nil, admin); r.status != http.StatusOK {
		t.Fatalf("list in read-only mode: %d", r.status)
	}
	var info models.GeneralInfo
	f.do("GET", "/api/v2.0/systeminfo", nil, admin).decode(t, &info)
	if info.ReadOnly == nil || !*info.ReadOnly {
		t.Fatalf("systeminfo read_only = %v", info.ReadOnly)
	}
	if r := f.do("PUT", "/api/v2.0/configurations", map[string]any{"read_only": false}, admin); r.status != 200 {
		t.Fatalf("switch off: %d %s", r.status, r.body)
	}
	f.createRobot(pullRobot("ci", "proj-a", 30))
	f.s.SetReadOnly(true)
	f.do("POST", "/api/v2.0/robots", pullRobot("cd", "proj-a", 30), admin).wantError(t, 403, "DENIED", "read only mode")
}
