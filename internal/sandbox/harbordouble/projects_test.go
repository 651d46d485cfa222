package harbordouble

import (
	"strings"
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

func TestGetProject(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Projects = []string{"proj-a", "proj-b", "7"} })
	get := func(path string, headers ...string) models.Project {
		t.Helper()
		r := f.do("GET", "/api/v2.0/projects/"+path, nil, admin, headers...)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var p models.Project
		r.decode(t, &p)
		return p
	}
	if p := get("proj-b"); p.ProjectID != 2 || p.Name != "proj-b" || p.Metadata.Public != "false" {
		t.Errorf("by name: %+v", p)
	}
	if p := get("1"); p.Name != "proj-a" {
		t.Errorf("by id: %+v", p)
	}
	// "7" is the name of project 3 only when the header says it is a name.
	if p := get("7", "X-Is-Resource-Name", "true"); p.ProjectID != 3 {
		t.Errorf("numeric name: %+v", p)
	}
	f.do("GET", "/api/v2.0/projects/7", nil, admin).wantError(t, 404, "NOT_FOUND", "project 7 not found")
	f.do("GET", "/api/v2.0/projects/nope", nil, admin).wantError(t, 404, "NOT_FOUND", "project nope not found")
	f.do("GET", "/api/v2.0/projects/proj-a", nil, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
	f.do("GET", "/api/v2.0/projects/proj-a", nil, admin, "X-Is-Resource-Name", "maybe").
		wantError(t, 422, "UNPROCESSABLE_ENTITY", "X-Is-Resource-Name in header must be of type bool")
}

func TestListProjects(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Projects = []string{"proj-a", "proj-b", "other"} })
	list := func(query string, c cred) ([]string, string) {
		t.Helper()
		r := f.do("GET", "/api/v2.0/projects?"+query, nil, c)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		var ps []models.Project
		r.decode(t, &ps)
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return names, r.header.Get("X-Total-Count")
	}
	if names, total := list("name=proj", admin); strings.Join(names, ",") != "proj-a,proj-b" || total != "2" {
		t.Errorf("name=proj: %v %s", names, total)
	}
	if names, total := list("page_size=1&page=2", admin); strings.Join(names, ",") != "proj-b" || total != "3" {
		t.Errorf("paging: %v %s", names, total)
	}
	// Private projects: an anonymous caller sees none, a robot those it may use.
	if names, total := list("", cred{}); len(names) != 0 || total != "0" {
		t.Errorf("anonymous: %v %s", names, total)
	}
	rb := f.createRobot(pullRobot("ci", "proj-b", 30))
	if names, _ := list("", cred{rb.Name, rb.Secret}); strings.Join(names, ",") != "proj-b" {
		t.Errorf("robot: %v", names)
	}
}

func TestPingAndSystemInfo(t *testing.T) {
	f := newFixture(t)
	if r := f.do("GET", "/api/v2.0/ping", nil, cred{}); r.status != 200 || string(r.body) != "Pong" {
		t.Errorf("ping: %d %q", r.status, r.body)
	}
	var anon, full models.GeneralInfo
	f.do("GET", "/api/v2.0/systeminfo", nil, cred{}).decode(t, &anon)
	if anon.HarborVersion != nil || anon.AuthMode == nil || *anon.AuthMode != "db_auth" {
		t.Errorf("anonymous systeminfo: %+v", anon)
	}
	f.do("GET", "/api/v2.0/systeminfo", nil, admin).decode(t, &full)
	host := strings.TrimPrefix(f.srv.URL, "http://")
	if full.HarborVersion == nil || !strings.HasPrefix(*full.HarborVersion, "v2.13.0-") ||
		*full.ExternalURL != f.srv.URL || *full.RegistryURL != host {
		t.Errorf("admin systeminfo: %+v", full)
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := newFixture(t)
	f.do("GET", "/api/v2.0/users", nil, admin).wantError(t, 404, "NOT_FOUND", "path /api/v2.0/users was not found")
	f.do("DELETE", "/api/v2.0/robots", nil, admin).wantError(t, 405, "METHOD_NOT_ALLOWED", "method DELETE is not allowed, but [GET,POST] are")
	if r := f.do("GET", "/api/v2.0/ping", nil, cred{}, "X-Request-Id", "abc"); r.header.Get("X-Request-Id") != "abc" {
		t.Errorf("X-Request-Id not echoed: %q", r.header.Get("X-Request-Id"))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"no admin":          {AdminPassword: "x", Issuer: testIssuer()},
		"bad project":       {AdminUsername: "a", AdminPassword: "x", Projects: []string{"Proj"}, Issuer: testIssuer()},
		"repeated project":  {AdminUsername: "a", AdminPassword: "x", Projects: []string{"p", "p"}, Issuer: testIssuer()},
		"admin like robots": {AdminUsername: "robot$admin", AdminPassword: "x", Issuer: testIssuer()},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
