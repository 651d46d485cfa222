package harbor

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestListProjectRobotsFollowsPages(t *testing.T) {
	f := newFakeHarbor(t, "team-a", "team-b")
	p, _ := newTestProvider(t, f)
	var want []string
	for i := range 230 {
		name := fmt.Sprintf("rotator-harbor-main-20261001t%06d-abcd", i)
		if i%10 == 0 {
			// Matches the fuzzy filter but does not start with the prefix.
			name = "old-" + name
		} else {
			want = append(want, "robot$team-a+"+name)
		}
		f.addRobot("team-a", name)
	}
	f.addRobot("team-b", "rotator-harbor-main-20261001t000000-abcd") // other project
	f.addRobot("", "rotator-harbor-main-20261001t000000-abcd")       // system robot

	owned, err := p.List(context.Background(), testSpec("team-a"))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var got []string
	for _, o := range owned {
		got = append(got, o.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("List returned %d robots, want %d", len(got), len(want))
	}
	if o := owned[0]; o.ID != "43" || !o.IssuedAt.Equal(fakeNow) || !o.ExpiresAt.IsZero() || o.Disabled {
		t.Errorf("first robot = %+v", o)
	}

	lists := f.requestsTo(http.MethodGet, "/api/v2.0/robots")
	if len(lists) != 3 {
		t.Fatalf("%d list requests, want 3 pages", len(lists))
	}
	for i, r := range lists {
		if q := r.Query.Get("q"); q != "Level=project,ProjectID=7,Name=~rotator-harbor-main-" {
			t.Errorf("page %d: q = %q", i+1, q)
		}
		if page, size := r.Query.Get("page"), r.Query.Get("page_size"); page != fmt.Sprint(i+1) || size != "100" {
			t.Errorf("page %d: page, page_size = %s, %s", i+1, page, size)
		}
	}
}

func TestListSystemRobotsForSeveralProjects(t *testing.T) {
	f := newFakeHarbor(t, "team-a", "team-b")
	p, _ := newTestProvider(t, f)
	f.addRobot("", "rotator-harbor-main-20261001t000000-abcd")
	f.addRobot("", "someone-else")
	f.addRobot("team-a", "rotator-harbor-main-20261001t000000-abcd")

	owned, err := p.List(context.Background(), testSpec("team-a", "team-b"))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(owned) != 1 || owned[0].Name != "robot$rotator-harbor-main-20261001t000000-abcd" {
		t.Errorf("owned = %+v", owned)
	}
	// Several projects need no project lookup: system robots are listed by level.
	want := []string{"GET /api/v2.0/robots"}
	if got := f.allRequests(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	if q := f.requestsTo(http.MethodGet, "/api/v2.0/robots")[0].Query.Get("q"); q != "Level=system,Name=~rotator-harbor-main-" {
		t.Errorf("q = %q", q)
	}
}

func TestListEmpty(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)
	owned, err := p.List(context.Background(), testSpec("team-a"))
	if err != nil || len(owned) != 0 {
		t.Errorf("List = %v, %v; want nothing", owned, err)
	}
}

// Harbor URL-decodes q once more: a literal '+' must leave the provider as %2B inside the value,
// which go-client sends as %252B.
func TestQValueEscapesPlus(t *testing.T) {
	if got := qValue("team-a+rotator-"); got != "team-a%2Brotator-" {
		t.Fatalf("qValue = %q", got)
	}
	if got := qValue("rotator-harbor-main-"); got != "rotator-harbor-main-" {
		t.Fatalf("qValue changed a plain value: %q", got)
	}
}
