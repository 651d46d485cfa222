package harbor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/providers"
)

func testSpec(projects ...string) providers.Spec {
	return providers.Spec{
		Credential:  "harbor-main",
		NamePrefix:  "rotator-harbor-main-",
		Projects:    projects,
		Lifetime:    30*24*time.Hour + time.Minute, // rounds up to 31 days
		Description: "managed by rotator (credential harbor-main)",
	}
}

// decodeJSON decodes a recorded body into plain maps, so assertions see exactly the keys sent.
func decodeJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return m
}

func pullOn(project string) map[string]any {
	return map[string]any{
		"kind":      "project",
		"namespace": project,
		"access":    []any{map[string]any{"resource": "repository", "action": "pull"}},
	}
}

var issuedName = regexp.MustCompile(`^rotator-harbor-main-20261124t101500-[0-9a-f]{4}$`)

func TestIssueProjectRobot(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)

	cred, err := p.Issue(context.Background(), testSpec("team-a"))
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	got := f.allRequests()
	want := []string{"GET /api/v2.0/projects/team-a", "POST /api/v2.0/robots"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	lookup := f.requestsTo(http.MethodGet, "/api/v2.0/projects/team-a")[0]
	if h := lookup.Header.Get("X-Is-Resource-Name"); h != "true" {
		t.Errorf("project lookup X-Is-Resource-Name = %q, want true", h)
	}
	create := f.requestsTo(http.MethodPost, "/api/v2.0/robots")[0]
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(fakeUser+":"+fakePassword))
	if h := create.Header.Get("Authorization"); h != wantAuth {
		t.Errorf("Authorization = %q, want basic auth of the admin", h)
	}
	if ct := create.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}

	body := decodeJSON(t, create.Body)
	name, _ := body["name"].(string)
	if !issuedName.MatchString(name) {
		t.Errorf("name = %q, want %s", name, issuedName)
	}
	delete(body, "name")
	wantBody := map[string]any{
		"description": "managed by rotator (credential harbor-main)",
		"level":       "project",
		"duration":    float64(31),
		"permissions": []any{pullOn("team-a")},
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("create body (without name) = %v\nwant %v", body, wantBody)
	}

	wantCred := providers.Credential{
		Owned: providers.Owned{
			ID:        "42",
			Name:      "robot$team-a+" + name,
			GivenName: name,
			IssuedAt:  fakeNow,
			ExpiresAt: fakeNow.AddDate(0, 0, 31),
		},
		Username: "robot$team-a+" + name,
		Password: "Secret42Xyz",
	}
	if !reflect.DeepEqual(cred, wantCred) {
		t.Errorf("credential = %+v\nwant %+v", cred, wantCred)
	}
}

func TestIssueSystemRobotForSeveralProjects(t *testing.T) {
	f := newFakeHarbor(t, "team-a", "team-b")
	p, _ := newTestProvider(t, f)
	spec := testSpec("team-a", "team-b", "team-a") // a duplicate is ignored
	spec.Lifetime = 0

	cred, err := p.Issue(context.Background(), spec)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	want := []string{"GET /api/v2.0/projects/team-a", "GET /api/v2.0/projects/team-b", "POST /api/v2.0/robots"}
	if got := f.allRequests(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	body := decodeJSON(t, f.requestsTo(http.MethodPost, "")[0].Body)
	if body["level"] != "system" || body["duration"] != float64(-1) {
		t.Errorf("level, duration = %v, %v; want system, -1", body["level"], body["duration"])
	}
	if perms := body["permissions"]; !reflect.DeepEqual(perms, []any{pullOn("team-a"), pullOn("team-b")}) {
		t.Errorf("permissions = %v", perms)
	}
	if !strings.HasPrefix(cred.Name, "robot$rotator-harbor-main-") || cred.Username != cred.Name {
		t.Errorf("name, username = %q, %q", cred.Name, cred.Username)
	}
	if !cred.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, want zero for a robot that never expires", cred.ExpiresAt)
	}
}

func TestDurationDays(t *testing.T) {
	for _, tc := range []struct {
		lifetime time.Duration
		want     int64
	}{
		{0, -1},
		{time.Nanosecond, 1},
		{24 * time.Hour, 1},
		{24*time.Hour + time.Second, 2},
		{90 * 24 * time.Hour, 90},
	} {
		if got := durationDays(tc.lifetime); got != tc.want {
			t.Errorf("durationDays(%v) = %d, want %d", tc.lifetime, got, tc.want)
		}
	}
}

func TestIssueUnknownProject(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)

	_, err := p.Issue(context.Background(), testSpec("team-a", "typo"))
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	for _, want := range []string{`"typo"`, "create it", "project list"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if posts := f.requestsTo(http.MethodPost, ""); len(posts) != 0 {
		t.Errorf("a robot was created despite the unknown project")
	}
}

func TestIssueRejectsBadSpecs(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)
	for name, tc := range map[string]struct {
		edit func(*providers.Spec)
		want string
	}{
		"empty prefix":      {func(s *providers.Spec) { s.NamePrefix = "" }, "robotNamePrefix) is empty"},
		"upper case prefix": {func(s *providers.Spec) { s.NamePrefix = "Rotator-" }, "Harbor rejects"},
		"double separator":  {func(s *providers.Spec) { s.NamePrefix = "rotator--" }, "Harbor rejects"},
		"plus in prefix":    {func(s *providers.Spec) { s.NamePrefix = "a+b-" }, "Harbor rejects"},
		"no projects":       {func(s *providers.Spec) { s.Projects = nil }, "no projects"},
		"negative lifetime": {func(s *providers.Spec) { s.Lifetime = -time.Hour }, "negative"},
	} {
		t.Run(name, func(t *testing.T) {
			spec := testSpec("team-a")
			tc.edit(&spec)
			_, err := p.Issue(context.Background(), spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "harbor-main") {
				t.Fatalf("err = %v, want one naming the credential and containing %q", err, tc.want)
			}
		})
	}
	if reqs := f.allRequests(); len(reqs) != 0 {
		t.Errorf("invalid specs sent requests: %q", reqs)
	}
}

// The robot prefix hint is only a hint: Harbor's answer names the robot, whatever its prefix.
func TestIssueIgnoresAWrongPrefixHint(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f, func(o *Options) { o.RobotPrefix = "harbor@" })
	c, err := p.Issue(context.Background(), testSpec("team-a"))
	if err != nil || !strings.HasPrefix(c.Name, "robot$team-a+rotator-harbor-main-") {
		t.Fatalf("Issue = %+v, %v", c.Owned, err)
	}
	if dels := f.requestsTo(http.MethodDelete, ""); len(dels) != 0 {
		t.Errorf("the robot was deleted: %q", f.allRequests())
	}
}

// A create answer whose name is not "<prefix><project>+<given>" cannot be recognised again:
// the robot is deleted rather than leaked.
func TestIssueDeletesRobotItCannotRecognise(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, _ := newTestProvider(t, f)
	f.failNext("POST /api/v2.0/robots", fakeAnswer{status: http.StatusCreated,
		body: `{"id":42,"name":"robot$something-else","secret":"Secret42Xyz","expires_at":-1}`})
	_, err := p.Issue(context.Background(), testSpec("team-a"))
	if err == nil || !strings.Contains(err.Error(), "could not recognise it again") {
		t.Fatalf("err = %v, want one saying the robot could not be recognised", err)
	}
	if strings.Contains(err.Error(), "Secret42Xyz") {
		t.Errorf("error leaks the robot secret: %v", err)
	}
	if dels := f.requestsTo(http.MethodDelete, "/api/v2.0/robots/42"); len(dels) != 1 {
		t.Errorf("the unusable robot was not deleted: %q", f.allRequests())
	}
}

func TestIssueCreateIsNotRetriedOnServerError(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, s := newTestProvider(t, f)
	f.failNext("POST /api/v2.0/robots", fakeAnswer{status: http.StatusServiceUnavailable})

	_, err := p.Issue(context.Background(), testSpec("team-a"))
	if err == nil || !strings.Contains(err.Error(), "may have created") {
		t.Fatalf("err = %v, want one warning that the robot may exist", err)
	}
	if posts := f.requestsTo(http.MethodPost, ""); len(posts) != 1 || len(s.got()) != 0 {
		t.Errorf("create sent %d times with delays %v, want once without retry", len(posts), s.got())
	}
}
