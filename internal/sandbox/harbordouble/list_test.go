package harbordouble

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// listNames lists robots with the raw query string rawQuery and returns their names, the
// X-Total-Count and the Link header.
func (f *fixture) listNames(rawQuery string) (names []string, total, link string) {
	f.t.Helper()
	r := f.do("GET", "/api/v2.0/robots?"+rawQuery, nil, admin)
	if r.status != 200 {
		f.t.Fatalf("list %s: %d %s", rawQuery, r.status, r.body)
	}
	var rs []models.Robot
	r.decode(f.t, &rs)
	for _, rb := range rs {
		names = append(names, rb.Name)
	}
	return names, r.header.Get("X-Total-Count"), r.header.Get("Link")
}

func q(v string) string { return "q=" + url.QueryEscape(v) }

func TestListRobotsByLevel(t *testing.T) {
	f := newFixture(t)
	f.createRobot(pullRobot("b", "proj-a", 30))
	f.createRobot(pullRobot("a", "proj-a", 30))
	f.createRobot(pullRobot("c", "proj-b", 30))
	f.createRobot(map[string]any{"name": "sys", "level": "system", "duration": 30, "permissions": []any{
		map[string]any{"kind": "project", "namespace": "*", "access": []any{map[string]any{"resource": "repository", "action": "pull"}}},
	}})

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"robot$sys"}},
		{q("Level=system"), []string{"robot$sys"}},
		// Sorted by name, as Harbor's default.
		{q("Level=project,ProjectID=1"), []string{"robot$proj-a+a", "robot$proj-a+b"}},
		{q("Level=project,ProjectID=2"), []string{"robot$proj-b+c"}},
		{q("Level=project,ProjectID=2") + "&sort=-name", []string{"robot$proj-b+c"}},
		{q("Level=project,ProjectID=1") + "&sort=-id", []string{"robot$proj-a+a", "robot$proj-a+b"}},
		{q("Level=project,ProjectID=1") + "&sort=id", []string{"robot$proj-a+b", "robot$proj-a+a"}},
		// Fuzzy name match is a case-insensitive substring of the stored name (no prefix).
		{q("Level=project,ProjectID=1,name=~PROJ-A"), []string{"robot$proj-a+a", "robot$proj-a+b"}},
		{q("Level=project,ProjectID=1,name=~b"), []string{"robot$proj-a+b"}},
		// lower-case "level" is not Harbor's key: it is ignored and system robots are listed.
		{q("level=project,ProjectID=1"), []string{"robot$sys"}},
		{q("Level=system,name=sys"), []string{"robot$sys"}},
		{q("Level=project,ProjectID=1,id={1 3}"), []string{"robot$proj-a+b"}},
		{q("Level=project,ProjectID=1,id=[2~9]"), []string{"robot$proj-a+a"}},
		{q("Level=project,ProjectID=1,disabled=false,unknownkey=x"), []string{"robot$proj-a+a", "robot$proj-a+b"}},
	}
	for _, tt := range tests {
		names, total, _ := f.listNames(tt.query)
		if !equalJSON(names, tt.want) || total != fmt.Sprint(len(tt.want)) {
			t.Errorf("%s: got %v (total %s), want %v", tt.query, names, total, tt.want)
		}
	}
}

// Harbor unescapes q once more on the server: an exact name holding '+' must be sent as %252B.
func TestListExactNameWithPlus(t *testing.T) {
	f := newFixture(t)
	f.createRobot(pullRobot("ci", "proj-a", 30))
	if names, _, _ := f.listNames(q("Level=project,ProjectID=1,name=proj-a+ci")); len(names) != 0 {
		t.Fatalf("a '+' sent as %%2B matched %v; Harbor turns it into a space", names)
	}
	if names, _, _ := f.listNames(q("Level=project,ProjectID=1,name=proj-a%2Bci")); !equalJSON(names, []string{"robot$proj-a+ci"}) {
		t.Fatalf("double-escaped '+': %v", names)
	}
}

func TestListRobotsPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 23 {
		f.createRobot(pullRobot(fmt.Sprintf("r%02d", i), "proj-a", 30))
	}
	base := q("Level=project,ProjectID=1")

	names, total, link := f.listNames(base)
	if len(names) != 10 || total != "23" || names[0] != "robot$proj-a+r00" {
		t.Fatalf("default page: %d names from %v, total %s", len(names), names[0], total)
	}
	if want := `</api/v2.0/robots?page=2&page_size=10&q=Level=project,ProjectID=1>; rel="next"`; link != want {
		t.Fatalf("Link = %s\nwant   %s", link, want)
	}

	names, total, link = f.listNames(base + "&page=2&page_size=10")
	wantLink := `</api/v2.0/robots?page=1&page_size=10&q=Level=project,ProjectID=1>; rel="prev" , ` +
		`</api/v2.0/robots?page=3&page_size=10&q=Level=project,ProjectID=1>; rel="next"`
	if len(names) != 10 || names[0] != "robot$proj-a+r10" || total != "23" || link != wantLink {
		t.Fatalf("page 2: %v total %s link %s", names, total, link)
	}

	names, _, link = f.listNames(base + "&page=3&page_size=10")
	if len(names) != 3 || names[2] != "robot$proj-a+r22" || link != `</api/v2.0/robots?page=2&page_size=10&q=Level=project,ProjectID=1>; rel="prev"` {
		t.Fatalf("page 3: %v link %s", names, link)
	}
	names, total, _ = f.listNames(base + "&page=9&page_size=10")
	if len(names) != 0 || total != "23" {
		t.Fatalf("past the end: %v total %s", names, total)
	}
	if r := f.do("GET", "/api/v2.0/robots?"+base+"&page=9", nil, admin); string(r.body) != "[]" {
		t.Fatalf("empty page body = %s, want []", r.body)
	}
	names, _, _ = f.listNames(base + "&page_size=100")
	if len(names) != 23 {
		t.Fatalf("page_size 100: %d", len(names))
	}
}

func TestListRobotsRefused(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		query     string
		status    int
		code, msg string
	}{
		{"page_size=101", 422, "UNPROCESSABLE_ENTITY", "page_size in query should be less than or equal to 100"},
		{"page=x", 422, "UNPROCESSABLE_ENTITY", `page in query must be of type int64: "x"`},
		{q("Level=project"), 400, "BAD_REQUEST", "must with project ID"},
		{q("Level=project,ProjectID=x"), 400, "BAD_REQUEST", "ProjectID must be a positive integer"},
		{q("Level=project,ProjectID=0"), 400, "BAD_REQUEST", "ProjectID must be a positive integer"},
		{q("Level=global"), 400, "BAD_REQUEST", "bad request error level input"},
		{q("Level"), 400, "BAD_REQUEST", `must contain "="`},
		{q("name=~"), 400, "BAD_REQUEST", "invalid query string value"},
		{q("creation_time=[2020-01-01T00:00:00~]"), 400, "BAD_REQUEST", "does not filter robots by creation_time"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			f.do("GET", "/api/v2.0/robots?"+tt.query, nil, admin).wantError(t, tt.status, tt.code, tt.msg)
		})
	}
	f.do("GET", "/api/v2.0/robots", nil, cred{}).wantError(t, 401, "UNAUTHORIZED", "unauthorized")
}
