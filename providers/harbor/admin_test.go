package harbor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/providers"
)

// robotManager is the access a robot needs to manage the rotator's robots in a project.
func robotManager(kind, ns string) map[string]any {
	access := []any{map[string]any{"resource": "repository", "action": "pull"}}
	if kind == "system" {
		access = nil
	}
	for _, a := range []string{"create", "list", "read", "delete"} {
		access = append(access, map[string]any{"resource": "robot", "action": a})
	}
	return map[string]any{"kind": kind, "namespace": ns, "access": access}
}

// createIdentity creates, as the admin, a robot to act as the rotator's Harbor identity and
// returns its name and secret.
func (r *doubleRig) createIdentity(t *testing.T, level string, perms ...map[string]any) (string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "rotator-admin", "level": level, "duration": -1, "permissions": perms})
	req, _ := http.NewRequest(http.MethodPost, r.url+"/api/v2.0/robots", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(fakeUser, fakePassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct{ Name, Secret string }
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&created) != nil {
		t.Fatalf("create identity robot: %d", resp.StatusCode)
	}
	return created.Name, created.Secret
}

// Which admin identity works on which Harbor release, and what the 403 says when it does not.
func TestAdminIdentityByVersion(t *testing.T) {
	systemRobot := func(r *doubleRig, t *testing.T) (string, string) {
		return r.createIdentity(t, "system", robotManager("system", "/"),
			robotManager("project", "team-a"), robotManager("project", "team-b"))
	}
	projectRobot := func(r *doubleRig, t *testing.T) (string, string) {
		return r.createIdentity(t, "project", robotManager("project", "team-a"))
	}
	projectAdmin := func(*doubleRig, *testing.T) (string, string) { return "pa", "Project-Admin-1" }
	plainRobot := func(r *doubleRig, t *testing.T) (string, string) {
		return r.createIdentity(t, "project", map[string]any{"kind": "project", "namespace": "team-a",
			"access": []any{map[string]any{"resource": "repository", "action": "pull"}}})
	}
	systemPull := func(r *doubleRig, t *testing.T) (string, string) {
		pull := func(ns string) map[string]any {
			return map[string]any{"kind": "project", "namespace": ns, "access": []any{map[string]any{"resource": "repository", "action": "pull"}}}
		}
		return r.createIdentity(t, "system", pull("team-a"), pull("team-b"))
	}
	tests := []struct {
		name, version string
		identity      func(*doubleRig, *testing.T) (string, string)
		projects      []string
		hint          string // "" = Issue must succeed
	}{
		{"robot below 2.12", "v2.11.0", plainRobot, []string{"team-a"}, "below 2.12"},
		{"robot below 2.12, several projects", "v2.8.0", systemPull, []string{"team-a", "team-b"}, "below 2.12"},
		{"system robot, project robot, 2.13.5", "v2.13.5", systemRobot, []string{"team-a"}, "goharbor/harbor#21406"},
		{"system robot, project robot, 2.14.0", "v2.14.0", systemRobot, []string{"team-a"}, "fixed in 2.14.1"},
		{"system robot, project robot, 2.14.1", "v2.14.1", systemRobot, []string{"team-a"}, ""},
		{"system robot, system robot, 2.13.5", "v2.13.5", systemRobot, []string{"team-a", "team-b"}, ""},
		{"project robot, 2.12.0", "v2.12.0", projectRobot, []string{"team-a"}, ""},
		{"project robot without robot permissions", "v2.13.5", plainRobot, []string{"team-a"}, "robot create, list, read and delete"},
		{"project admin, one project", "v2.13.5", projectAdmin, []string{"team-a"}, ""},
		{"project admin, several projects", "v2.13.5", projectAdmin, []string{"team-a", "team-b"}, "needs the Harbor system admin role; a project admin cannot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newDoubleRig(t, func(o *harbordouble.Options) {
				o.Version = tt.version
				o.Users = []harbordouble.User{{Name: "pa", Password: "Project-Admin-1", ProjectAdmin: []string{"team-a", "team-b"}}}
			})
			user, pass := tt.identity(rig, t)
			p := rig.provider(t, user, pass)
			ctx := context.Background()
			spec := testSpec(tt.projects...)
			c, err := p.Issue(ctx, spec)
			if tt.hint == "" {
				if err != nil {
					t.Fatalf("Issue as %s on %s: %v", user, tt.version, err)
				}
				owned, err := p.List(ctx, spec)
				if err != nil || len(owned) != 1 {
					t.Fatalf("List = %+v, %v", owned, err)
				}
				if err := p.Revoke(ctx, spec, c.ID); err != nil {
					t.Fatalf("Revoke: %v", err)
				}
				return
			}
			if !errors.Is(err, providers.ErrForbidden) || !strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("Issue as %s on %s = %v\nwant ErrForbidden with %q", user, tt.version, err, tt.hint)
			}
		})
	}
}
