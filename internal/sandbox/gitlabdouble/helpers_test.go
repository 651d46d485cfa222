package gitlabdouble

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

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// Tokens of the fixture's users.
const (
	ownerToken  = "glpat-owner-token"
	devToken    = "glpat-developer-token"
	maintToken  = "glpat-maintainer-token"
	strangerTok = "glpat-stranger-token"
)

// One issuer for the whole test binary: an RSA key takes a while to generate.
var testIssuer = sync.OnceValue(func() *registrytoken.Issuer {
	iss, err := registrytoken.NewIssuer(RegistryIssuer, RegistryService)
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

// newFixture: groups group-a (with subgroup group-a/sub) and group-b; projects group-a/app,
// group-a/sub/deep and group-b/other. The owner owns group-a and group-b, the developer is a
// Developer of group-a, the maintainer a Maintainer of group-a, the stranger a member of
// group-b only.
func newFixture(t *testing.T, edit ...func(*Options)) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	o := Options{
		Users: []User{
			{Username: "owner", Token: ownerToken, Roles: map[string]int{"group-a": Owner, "group-b": Owner}},
			{Username: "dev", Token: devToken, Roles: map[string]int{"group-a": Developer}},
			{Username: "maint", Token: maintToken, Roles: map[string]int{"group-a": Maintainer}},
			{Username: "stranger", Token: strangerTok, Roles: map[string]int{"group-b": Owner}},
		},
		Groups:   []string{"group-a", "group-a/sub", "group-b"},
		Projects: []string{"group-a/app", "group-a/sub/deep", "group-b/other"},
		Issuer:   testIssuer(),
		Now:      c.Now,
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

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends an API request with token as PRIVATE-TOKEN ("" sends none); body is marshalled to
// JSON unless nil.
func (f *fixture) do(method, path, token string, body any) reply {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
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
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	return f.send(req)
}

func (f *fixture) send(req *http.Request) reply {
	f.t.Helper()
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

// want checks the status and that the body holds key ("message" or "error") with text.
func (r reply) want(t *testing.T, status int, key, text string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	var m map[string]any
	r.decode(t, &m)
	if got, _ := m[key].(string); !strings.Contains(got, text) {
		t.Fatalf("body %s: want %q containing %q", r.body, key, text)
	}
}

// created is the create answer of either token kind.
type created struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Username    string   `json:"username"`
	Token       string   `json:"token"`
	ExpiresAt   string   `json:"expires_at"`
	Scopes      []string `json:"scopes"`
	Revoked     bool     `json:"revoked"`
	Active      bool     `json:"active"`
	AccessLevel int      `json:"access_level"`
}

// createDeploy creates a read_registry deploy token under base (e.g. "/groups/group-a") and
// fails the test unless GitLab answers 201.
func (f *fixture) createDeploy(base, name string, extra map[string]any) created {
	f.t.Helper()
	body := map[string]any{"name": name, "scopes": []string{"read_registry"}}
	for k, v := range extra {
		body[k] = v
	}
	r := f.do("POST", "/api/v4"+base+"/deploy_tokens", ownerToken, body)
	if r.status != http.StatusCreated {
		f.t.Fatalf("create deploy token: %d %s", r.status, r.body)
	}
	var c created
	r.decode(f.t, &c)
	return c
}

// createAccess creates a read_registry access token with level under base.
func (f *fixture) createAccess(base, name string, level int, expires string) created {
	f.t.Helper()
	r := f.do("POST", "/api/v4"+base+"/access_tokens", ownerToken, map[string]any{
		"name": name, "scopes": []string{"read_registry"}, "access_level": level, "expires_at": expires,
	})
	if r.status != http.StatusCreated {
		f.t.Fatalf("create access token: %d %s", r.status, r.body)
	}
	var c created
	r.decode(f.t, &c)
	return c
}

// jwt asks /jwt/auth for scopes with basic auth user:pass ("" user sends none) and returns the
// status and, on 200, the verified claims.
func (f *fixture) jwt(user, pass string, scopes ...string) (int, *registrytoken.Claims) {
	f.t.Helper()
	path := "/jwt/auth?service=container_registry"
	for _, s := range scopes {
		path += "&scope=" + url.QueryEscape(s)
	}
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	r := f.send(req)
	if r.status != http.StatusOK {
		return r.status, nil
	}
	var tr registrytoken.Response
	r.decode(f.t, &tr)
	claims, err := f.s.Issuer().Verify(tr.Token, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return r.status, claims
}

// pulls reports whether user:pass gets pull on repo from /jwt/auth (false also on 401).
func (f *fixture) pulls(user, pass, repo string) bool {
	f.t.Helper()
	status, claims := f.jwt(user, pass, "repository:"+repo+":pull")
	return status == http.StatusOK && len(claims.Actions("repository", repo)) == 1
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
