package harbordouble

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

const (
	adminUser = "admin"
	adminPass = "Harbor12345"
)

// One issuer for the whole test binary: an RSA key takes a while to generate.
var testIssuer = sync.OnceValue(func() *registrytoken.Issuer {
	iss, err := registrytoken.NewIssuer("harbor-token-issuer", "harbor-registry")
	if err != nil {
		panic(err)
	}
	return iss
})

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     *testing.T
	s     *Server
	srv   *httptest.Server
	clock *clock
}

func newFixture(t *testing.T, edit ...func(*Options)) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	o := Options{
		AdminUsername: adminUser, AdminPassword: adminPass,
		Projects: []string{"proj-a", "proj-b"},
		Issuer:   testIssuer(),
		Now:      c.Now,
		Sleep:    func(time.Duration) {}, // login_test.go records them
	}
	for _, e := range edit {
		e(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fixture{t: t, s: s, srv: srv, clock: c}
}

// cred is a basic-auth credential; the zero value sends none.
type cred struct{ user, pass string }

var admin = cred{adminUser, adminPass}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. body is sent as is if it is a string, else marshalled to JSON.
func (f *fixture) do(method, path string, body any, c cred, headers ...string) reply {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// wantError checks an answer is status with Harbor's error shape, code, and a message
// containing msg.
func (r reply) wantError(t *testing.T, status int, code, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var e models.Errors
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("body %s is not Harbor's error shape: %v", r.body, err)
	}
	if e.Errors[0].Code != code || !strings.Contains(e.Errors[0].Message, msg) {
		t.Fatalf("error = %s %q, want %s containing %q", e.Errors[0].Code, e.Errors[0].Message, code, msg)
	}
}

// pullRobot is the body of the rotator's robot: project level, pull only.
func pullRobot(name, project string, duration int64) map[string]any {
	return map[string]any{
		"name": name, "level": "project", "duration": duration, "description": "rotator",
		"permissions": []any{map[string]any{
			"kind": "project", "namespace": project,
			"access": []any{map[string]any{"resource": "repository", "action": "pull"}},
		}},
	}
}

// createRobot creates a robot and returns the answer, failing the test unless it is 201.
func (f *fixture) createRobot(body map[string]any) models.RobotCreated {
	f.t.Helper()
	r := f.do("POST", "/api/v2.0/robots", body, admin)
	if r.status != http.StatusCreated {
		f.t.Fatalf("create: %d %s", r.status, r.body)
	}
	var out models.RobotCreated
	r.decode(f.t, &out)
	return out
}

// token asks the token service for scopes with c and returns the status and, on 200, the
// verified claims.
func (f *fixture) token(c cred, scopes ...string) (int, *registrytoken.Claims) {
	f.t.Helper()
	path := "/service/token?service=harbor-registry"
	for _, s := range scopes {
		path += "&scope=" + url.QueryEscape(s)
	}
	r := f.do("GET", path, nil, c)
	if r.status != http.StatusOK {
		return r.status, nil
	}
	var tr registrytoken.Response
	r.decode(f.t, &tr)
	claims, err := f.s.Issuer().Verify(tr.Token, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if tr.AccessToken != tr.Token {
		f.t.Fatal("token and access_token differ")
	}
	return r.status, claims
}

// pullActions returns the actions a token for c grants on repo when pull is asked for.
func (f *fixture) pullActions(c cred, repo string) []string {
	f.t.Helper()
	status, claims := f.token(c, "repository:"+repo+":pull")
	if status != http.StatusOK {
		f.t.Fatalf("token status %d", status)
	}
	return claims.Actions("repository", repo)
}
