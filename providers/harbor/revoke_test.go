package harbor

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

func TestRevokeDeletesOwnedRobot(t *testing.T) {
	f := newFakeHarbor(t, "team-a", "team-b")
	p, _ := newTestProvider(t, f)
	projectRobot := f.addRobot("team-a", "rotator-harbor-main-20261001t000000-abcd")
	systemRobot := f.addRobot("", "rotator-harbor-main-20261001t000000-ef01")

	for _, id := range []int64{projectRobot, systemRobot} {
		if err := p.Revoke(context.Background(), testSpec("team-a"), strconv.FormatInt(id, 10)); err != nil {
			t.Fatalf("Revoke(%d): %v", id, err)
		}
	}
	want := []string{
		"GET /api/v2.0/robots/42", "DELETE /api/v2.0/robots/42",
		"GET /api/v2.0/robots/43", "DELETE /api/v2.0/robots/43",
	}
	if got := f.allRequests(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestRevokeRobotAlreadyGone(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)
	if err := p.Revoke(context.Background(), testSpec("team-a"), "99"); err != nil {
		t.Errorf("Revoke of a missing robot = %v, want nil", err)
	}

	// Gone between the read and the delete.
	id := f.addRobot("team-a", "rotator-harbor-main-20261124t101500-ab12")
	f.failNext("DELETE /api/v2.0/robots/"+strconv.FormatInt(id, 10),
		fakeAnswer{status: http.StatusNotFound, body: `{"errors":[{"code":"NOT_FOUND","message":"robot not found"}]}`})
	if err := p.Revoke(context.Background(), testSpec("team-a"), strconv.FormatInt(id, 10)); err != nil {
		t.Errorf("Revoke answered 404 on DELETE = %v, want nil", err)
	}
}

func TestRevokeRefusesRobotsItDidNotCreate(t *testing.T) {
	f := newFakeHarbor(t, "team-a", "team-b")
	p, _ := newTestProvider(t, f)
	for name, id := range map[string]int64{
		"other name":         f.addRobot("team-a", "ci-pusher"),
		"prefix in the tail": f.addRobot("team-a", "x-rotator-harbor-main-1"),
		"other project":      f.addRobot("team-b", "rotator-harbor-main-20261001t000000-abcd"),
		"other system robot": f.addRobot("", "backup"),
	} {
		t.Run(name, func(t *testing.T) {
			err := p.Revoke(context.Background(), testSpec("team-a"), strconv.FormatInt(id, 10))
			if !errors.Is(err, ErrNotOwned) {
				t.Fatalf("err = %v, want ErrNotOwned", err)
			}
		})
	}
	if dels := f.requestsTo(http.MethodDelete, ""); len(dels) != 0 {
		t.Errorf("deleted robots it did not create: %q", f.allRequests())
	}
}

func TestRevokeRejectsBadID(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)
	for _, id := range []string{"", "abc", "-1", "0", "../projects"} {
		if err := p.Revoke(context.Background(), testSpec("team-a"), id); err == nil {
			t.Errorf("Revoke(%q) = nil, want an error", id)
		}
	}
	if reqs := f.allRequests(); len(reqs) != 0 {
		t.Errorf("bad ids sent requests: %q", reqs)
	}
}
