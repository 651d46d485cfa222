package harbordouble

import (
	"net/http"
	"strings"
	"testing"
)

func TestFailNext(t *testing.T) {
	f := newFixture(t)
	f.s.FailNext("POST", "/api/v2.0/robots", 500, 1)
	f.s.FailNext("", "/api/v2.0/robots/", 429, 2)

	f.do("POST", "/api/v2.0/robots", pullRobot("ci", "proj-a", 30), admin).
		wantError(t, 500, "UNKNOWN", "internal server error")
	if len(f.s.Robots()) != 0 {
		t.Fatal("a failed create stored a robot")
	}
	got := f.createRobot(pullRobot("ci", "proj-a", 30)) // the fault is spent

	for range 2 {
		r := f.do("GET", "/api/v2.0/robots/1", nil, admin)
		r.wantError(t, 429, "TOO_MANY_REQUEST", "fault injected")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if r := f.do("GET", "/api/v2.0/robots/1", nil, admin); r.status != 200 {
		t.Fatalf("after faults: %d", r.status)
	}
	// Faults reach the token service too, and only the matching method.
	f.s.FailNext("GET", "/service/token", 503, 1)
	if status, _ := f.token(cred{got.Name, got.Secret}, "repository:proj-a/app:pull"); status != 503 {
		t.Fatalf("token fault: %d", status)
	}
	f.s.FailNext("DELETE", "/api/v2.0/robots/1", 404, 1)
	if r := f.do("GET", "/api/v2.0/robots/1", nil, admin); r.status != 200 {
		t.Fatalf("GET consumed a DELETE fault: %d", r.status)
	}
	f.do("DELETE", "/api/v2.0/robots/1", nil, admin).wantError(t, 404, "NOT_FOUND", "fault injected")
	if len(f.s.Robots()) != 1 {
		t.Fatal("faulted DELETE deleted")
	}
}

func TestRequestsRecorded(t *testing.T) {
	f := newFixture(t)
	got := f.createRobot(pullRobot("ci", "proj-a", 30))
	f.token(cred{got.Name, got.Secret}, "repository:proj-a/app:pull")
	f.s.FailNext("GET", "/api/v2.0/ping", 500, 1)
	f.do("GET", "/api/v2.0/ping", nil, cred{})

	reqs := f.s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests recorded: %+v", len(reqs), reqs)
	}
	create, tok, ping := reqs[0], reqs[1], reqs[2]
	if create.Method != "POST" || create.EscapedPath != "/api/v2.0/robots" || create.User != adminUser ||
		!strings.Contains(string(create.Body), `"name":"ci"`) {
		t.Errorf("create recorded as %+v", create)
	}
	if create.Header.Get("Authorization") != "Basic REDACTED" || create.Header.Get("Content-Type") != "application/json" {
		t.Errorf("create headers %v", create.Header)
	}
	if tok.EscapedPath != "/service/token" || tok.User != got.Name || tok.Body != nil ||
		tok.Query.Get("scope") != "repository:proj-a/app:pull" || tok.Header.Get("Authorization") != "Basic REDACTED" {
		t.Errorf("token request recorded as %+v", tok)
	}
	if strings.Contains(tok.Header.Get("Authorization"), got.Secret) {
		t.Error("secret in the log")
	}
	if ping.Method != http.MethodGet || ping.EscapedPath != "/api/v2.0/ping" {
		t.Errorf("faulted request recorded as %+v", ping)
	}
	// Copies: changing one does not change the log.
	reqs[0].Body[0] = 'X'
	if f.s.Requests()[0].Body[0] == 'X' {
		t.Error("Requests returned the log itself")
	}
	f.s.ResetRequests()
	if n := len(f.s.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
}
