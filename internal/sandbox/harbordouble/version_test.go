package harbordouble

import (
	"testing"
)

// robotAdmin is the body of a robot that manages robots: robot create/list/read/delete and
// repository pull, in each of perms' namespaces ("/" = a system permission).
func robotAdmin(name, level string, namespaces ...string) map[string]any {
	var perms []any
	for _, ns := range namespaces {
		kind := "project"
		access := []any{map[string]any{"resource": "repository", "action": "pull"}}
		if ns == "/" {
			kind, access = "system", nil
		}
		for _, a := range []string{"create", "list", "read", "delete"} {
			access = append(access, map[string]any{"resource": "robot", "action": a})
		}
		perms = append(perms, map[string]any{"kind": kind, "namespace": ns, "access": access})
	}
	return map[string]any{"name": name, "level": level, "duration": -1, "permissions": perms}
}

// Robots as creators, per Harbor release.
func TestRobotCreatorsByVersion(t *testing.T) {
	system := func(f *fixture) cred {
		rb := f.createRobot(robotAdmin("sys", "system", "/", "proj-a", "proj-b"))
		return cred{rb.Name, rb.Secret}
	}
	project := func(f *fixture) cred {
		rb := f.createRobot(robotAdmin("adm", "project", "proj-a"))
		return cred{rb.Name, rb.Secret}
	}
	pullOnly := func(f *fixture) cred {
		rb := f.createRobot(pullRobot("pull", "proj-a", 30))
		return cred{rb.Name, rb.Secret}
	}
	sysPull := map[string]any{"name": "fleet", "level": "system", "duration": 30, "permissions": []any{
		map[string]any{"kind": "project", "namespace": "proj-a", "access": []any{map[string]any{"resource": "repository", "action": "pull"}}},
		map[string]any{"kind": "project", "namespace": "proj-b", "access": []any{map[string]any{"resource": "repository", "action": "pull"}}},
	}}
	widerEffect := pullRobot("ci", "proj-a", 30)
	widerEffect["permissions"] = []any{map[string]any{"kind": "project", "namespace": "proj-a",
		"access": []any{map[string]any{"resource": "repository", "action": "pull", "effect": "allow"}}}}
	tests := []struct {
		name, version string
		creator       func(*fixture) cred
		body          map[string]any
		status        int
	}{
		{"pull robot, 2.11", "v2.11.0", pullOnly, pullRobot("ci", "proj-a", 30), 403},
		{"project robot admin, 2.12.0", "v2.12.0", project, pullRobot("ci", "proj-a", 30), 201},
		{"project robot admin, other project", "v2.13.5", project, pullRobot("ci", "proj-b", 30), 403},
		{"project robot admin, system robot", "v2.13.5", project, sysPull, 403},
		{"system robot admin, project robot, 2.12.0", "v2.12.0", system, pullRobot("ci", "proj-a", 30), 403},
		{"system robot admin, project robot, 2.13.5", "v2.13.5", system, pullRobot("ci", "proj-a", 30), 403},
		{"system robot admin, project robot, 2.14.0", "v2.14.0", system, pullRobot("ci", "proj-a", 30), 403},
		{"system robot admin, project robot, 2.14.1", "v2.14.1", system, pullRobot("ci", "proj-a", 30), 201},
		{"system robot admin, system robot, 2.13.5", "v2.13.5", system, sysPull, 201},
		{"effect compared literally", "v2.14.1", system, widerEffect, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.Version = tt.version })
			c := tt.creator(f)
			if r := f.do("POST", "/api/v2.0/robots", tt.body, c); r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
		})
	}
}

// Below 2.12 Harbor knows no robot permissions at all.
func TestRobotPermissionsBefore212(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Version = "v2.11.0" })
	f.do("POST", "/api/v2.0/robots", robotAdmin("adm", "project", "proj-a"), admin).wantError(t, 400, "BAD_REQUEST", "robot:create")
	var info struct {
		Version string `json:"harbor_version"`
	}
	f.do("GET", "/api/v2.0/systeminfo", nil, admin).decode(t, &info)
	if info.Version != "v2.11.0-d1a0a5e7" {
		t.Fatalf("harbor_version = %q", info.Version)
	}
	if _, err := New(Options{AdminUsername: "a", AdminPassword: "b", Version: "2.x", Issuer: testIssuer()}); err == nil {
		t.Fatal("a bad version was accepted")
	}
}

// Before 2.13, q=Level=system also lists project robots (goharbor/harbor#21118).
func TestListSystemLevelBefore213(t *testing.T) {
	for version, want := range map[string][]string{
		"v2.11.0": {"robot$proj-a+ci", "robot$sys"},
		"v2.13.0": {"robot$sys"},
	} {
		f := newFixture(t, func(o *Options) { o.Version = version })
		f.createRobot(pullRobot("ci", "proj-a", 30))
		f.createRobot(map[string]any{"name": "sys", "level": "system", "duration": 30, "permissions": []any{
			map[string]any{"kind": "project", "namespace": "*", "access": []any{map[string]any{"resource": "repository", "action": "pull"}}},
		}})
		if names, _, _ := f.listNames(q("Level=system")); !equalJSON(names, want) {
			t.Errorf("%s: Level=system lists %v, want %v", version, names, want)
		}
		if names, _, _ := f.listNames(""); !equalJSON(names, []string{"robot$sys"}) {
			t.Errorf("%s: no q lists %v", version, names)
		}
	}
}
