package gitlabdouble

import (
	"net/http"
	"strings"
	"testing"
)

// Faults answer matching requests (by method and escaped path prefix) in GitLab's shapes: 429
// in plain text with Retry-After, others as {"message"}. Every request is recorded with its
// credentials redacted.
func TestFaultsAndRecording(t *testing.T) {
	f := newFixture(t)
	path := "/api/v4/groups/group-a%2Fsub/deploy_tokens"
	f.s.FailNext("POST", path, http.StatusTooManyRequests, 1)
	f.s.Inject(Fault{Method: "GET", PathPrefix: path, Status: http.StatusTooManyRequests, RetryAfter: "7"})
	f.s.FailNext("", "/jwt/auth", http.StatusServiceUnavailable, 1)

	body := map[string]any{"name": "x", "scopes": []string{"read_registry"}}
	r := f.do("POST", path, ownerToken, body)
	if r.status != 429 || r.header.Get("Retry-After") != "1" || strings.TrimSpace(string(r.body)) != "Retry later" {
		t.Fatalf("429: %d %v %q", r.status, r.header, r.body)
	}
	if len(f.s.DeployTokens()) != 0 {
		t.Fatal("a faulted create stored a token")
	}
	if r := f.do("GET", path, ownerToken, nil); r.status != 429 || r.header.Get("Retry-After") != "7" {
		t.Fatalf("GET fault: %d %v", r.status, r.header)
	}
	if status, _ := f.jwt("owner", ownerToken, "repository:group-a/app:pull"); status != 503 {
		t.Fatalf("jwt fault: %d", status)
	}
	f.s.FailNext("DELETE", "/api/v4/", 500, 5)
	f.do("DELETE", path+"/1", ownerToken, nil).want(t, 500, "message", "500 Internal Server Error")
	f.s.ClearFaults()
	if r := f.do("POST", path, ownerToken, body); r.status != 201 {
		t.Fatalf("after faults: %d %s", r.status, r.body)
	}

	reqs := f.s.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	first := reqs[0]
	if first.EscapedPath != path || first.Header.Get("PRIVATE-TOKEN") != "REDACTED" || !strings.Contains(string(first.Body), `"read_registry"`) {
		t.Errorf("recorded %+v", first)
	}
	if jwt := reqs[2]; jwt.User != "owner" || jwt.Header.Get("Authorization") != "Basic REDACTED" || jwt.Body != nil {
		t.Errorf("recorded /jwt/auth %+v", jwt)
	}
	for _, rq := range reqs {
		for _, vs := range rq.Header {
			for _, v := range vs {
				if strings.Contains(v, ownerToken) {
					t.Fatalf("a token was recorded: %+v", rq)
				}
			}
		}
	}
	f.s.ResetRequests()
	if len(f.s.Requests()) != 0 {
		t.Fatal("ResetRequests kept requests")
	}
}

// The API and registry handlers serve their own host's part only.
func TestHandlersSplitByHost(t *testing.T) {
	f := newFixture(t)
	api, reg := f.s.APIHandler(), f.s.RegistryHandler()
	for _, c := range []struct {
		h    http.Handler
		path string
		want int
	}{
		{api, "/api/v4/groups/group-a/deploy_tokens", 401},
		{api, "/v2/", 404},
		{api, "/jwt/auth?service=container_registry", 200},
		{reg, "/api/v4/groups/group-a/deploy_tokens", 404},
		{reg, "/v2/", 502}, // no registry behind this fixture
		{reg, "/jwt/auth?service=container_registry", 200},
	} {
		rec := newRecorder()
		req, _ := http.NewRequest("GET", "http://x"+c.path, nil)
		c.h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d", c.path, rec.Code, c.want)
		}
	}
}

// New refuses namespaces without their parent group and roles in unknown namespaces.
func TestNewValidates(t *testing.T) {
	cases := map[string]Options{
		"no users":          {Groups: []string{"g"}},
		"orphan project":    {Users: []User{{Username: "u", Token: "t"}}, Projects: []string{"g/p"}},
		"top-level project": {Users: []User{{Username: "u", Token: "t"}}, Projects: []string{"p"}},
		"unknown role":      {Users: []User{{Username: "u", Token: "t", Roles: map[string]int{"nope": Owner}}}},
		"bad path":          {Users: []User{{Username: "u", Token: "t"}}, Groups: []string{"a b"}},
	}
	for name, o := range cases {
		o.Issuer = testIssuer()
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}
