package harbor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/providers"
)

// TestAgainstHarborDouble runs Issue, List and Revoke against the shared Harbor double, which
// follows Harbor's handlers more closely than the recording server of the other tests
// (swagger binding, q parsing, access checks).
func TestAgainstHarborDouble(t *testing.T) {
	clock := fakeNow
	failed := &sharedClock{t: fakeNow} // only failed logins move it
	double, err := harbordouble.New(harbordouble.Options{
		AdminUsername: fakeUser, AdminPassword: fakePassword,
		Projects: []string{"team-a", "team-b"},
		Issuer:   testIssuer(),
		Now:      func() time.Time { return clock },
		Sleep:    failed.advance,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(double)
	defer srv.Close()
	p, err := New(Options{URL: srv.URL, Username: fakeUser, Password: fakePassword, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	p.retry.Sleep = s.sleep
	ctx := context.Background()

	one, several := testSpec("team-a"), testSpec("team-a", "team-b")
	projectCred, err := p.Issue(ctx, one)
	if err != nil {
		t.Fatalf("Issue (one project): %v", err)
	}
	systemCred, err := p.Issue(ctx, several)
	if err != nil {
		t.Fatalf("Issue (two projects): %v", err)
	}
	other := testSpec("team-a")
	other.NamePrefix = "ci-pusher-"
	foreign, err := p.Issue(ctx, other)
	if err != nil {
		t.Fatalf("Issue (other prefix): %v", err)
	}

	robots := map[string]harbordouble.Robot{}
	for _, r := range double.Robots() {
		robots[strconv.FormatInt(r.ID, 10)] = r
	}
	pr, sr := robots[projectCred.ID], robots[systemCred.ID]
	if pr.Level != harbordouble.LevelProject || pr.Name != projectCred.Name || pr.Duration != 31 ||
		len(pr.Permissions) != 1 || pr.Permissions[0].Namespace != "team-a" {
		t.Errorf("project robot in the double = %+v", pr)
	}
	if sr.Level != harbordouble.LevelSystem || len(sr.Permissions) != 2 {
		t.Errorf("system robot in the double = %+v", sr)
	}
	for _, r := range []harbordouble.Robot{pr, sr} {
		for _, perm := range r.Permissions {
			if len(perm.Access) != 1 || perm.Access[0].Resource != "repository" || perm.Access[0].Action != "pull" {
				t.Errorf("robot %s has access %+v, want repository pull only", r.Name, perm.Access)
			}
		}
	}
	if !projectCred.ExpiresAt.Equal(clock.AddDate(0, 0, 31)) || projectCred.Password == "" ||
		projectCred.Username != projectCred.Name {
		t.Errorf("project credential = %+v (password set: %v)", projectCred.Owned, projectCred.Password != "")
	}

	// List sees the rotator's robots of each spec, not the foreign one, across a flaky page.
	double.FailNext(http.MethodGet, "/api/v2.0/robots", http.StatusServiceUnavailable, 1)
	for spec, want := range map[*providers.Spec]string{&one: projectCred.ID, &several: systemCred.ID} {
		owned, err := p.List(ctx, *spec)
		if err != nil {
			t.Fatalf("List %v: %v", spec.Projects, err)
		}
		if len(owned) != 1 || owned[0].ID != want {
			t.Errorf("List %v = %+v, want only robot %s", spec.Projects, owned, want)
		}
	}
	if len(s.got()) != 1 {
		t.Errorf("retries = %v, want one after the injected 503", s.got())
	}

	// Revoke refuses the foreign robot, deletes ours, and takes a second delete calmly.
	if err := p.Revoke(ctx, one, foreign.ID); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Revoke of a foreign robot = %v, want ErrNotOwned", err)
	}
	for i := range 2 {
		if err := p.Revoke(ctx, one, projectCred.ID); err != nil {
			t.Fatalf("Revoke #%d: %v", i+1, err)
		}
	}
	if owned, err := p.List(ctx, one); err != nil || len(owned) != 0 {
		t.Errorf("List after Revoke = %+v, %v; want nothing", owned, err)
	}

	// Wrong credentials: Harbor takes them for anonymous and answers 401.
	bad, _ := New(Options{URL: srv.URL, Username: fakeUser, Password: "Wrong-Password-1", Now: failed.now})
	bad.retry.Sleep = s.sleep
	if _, err := bad.List(ctx, one); !errors.Is(err, providers.ErrAuth) {
		t.Errorf("List with a wrong password = %v, want ErrAuth", err)
	}

	for _, r := range double.Requests() {
		if r.Method == http.MethodPatch || r.Method == http.MethodPut {
			t.Errorf("the provider sent %s %s: it must never modify a robot", r.Method, r.EscapedPath)
		}
		if r.Method == http.MethodPost {
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil || body["secret"] != nil {
				t.Errorf("create body %s sends a secret or is not JSON", r.Body)
			}
		}
	}
}
