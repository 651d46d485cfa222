package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
	"github.com/rotatorhq/rotator/providers"
)

const (
	ownerToken = "glpat-owner-secret-value"
	devToken   = "glpat-developer-secret-value"
)

// One issuer for the whole test binary: an RSA key takes a while to generate.
var testIssuer = sync.OnceValue(func() *registrytoken.Issuer {
	iss, err := registrytoken.NewIssuer(gitlabdouble.RegistryIssuer, gitlabdouble.RegistryService)
	if err != nil {
		panic(err)
	}
	return iss
})

// start is the fixture's clock: 2026-11-24 12:00 UTC.
var start = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	double *gitlabdouble.Server
	srv    *httptest.Server
	sleeps []time.Duration // what the retry loop waited, in order
}

// newFixture starts a GitLab double: groups group-a (subgroup group-a/sub) and group-b,
// projects group-a/app, group-a/sub/deep and group-b/other; the owner owns group-a and group-b,
// the developer is a Developer of group-a.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	d, err := gitlabdouble.New(gitlabdouble.Options{
		Users: []gitlabdouble.User{
			{Username: "owner", Token: ownerToken, Roles: map[string]int{"group-a": gitlabdouble.Owner, "group-b": gitlabdouble.Owner}},
			{Username: "dev", Token: devToken, Roles: map[string]int{"group-a": gitlabdouble.Developer}},
		},
		Groups:   []string{"group-a", "group-a/sub", "group-b"},
		Projects: []string{"group-a/app", "group-a/sub/deep", "group-b/other"},
		Issuer:   testIssuer(),
		Now:      func() time.Time { return start },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return &fixture{t: t, double: d, srv: srv}
}

// provider builds a Provider on the double with the fixture's clock and a retry loop that
// records its waits instead of sleeping.
func (f *fixture) provider(o Options) *Provider {
	f.t.Helper()
	if o.URL == "" {
		o.URL = f.srv.URL
	}
	if o.Token == "" {
		o.Token = ownerToken
	}
	o.Now = func() time.Time { return start }
	p, err := New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	p.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		f.sleeps = append(f.sleeps, d)
		return ctx.Err()
	}
	return p
}

func spec(holder string) providers.Spec {
	return providers.Spec{Credential: "gl", NamePrefix: "rotator-gl-", Projects: []string{holder},
		Lifetime: 30 * 24 * time.Hour, Description: "rotator test"}
}

// changes lists the requests since the last reset that could change GitLab, and fails the
// test if any called /rotate or carried the admin token anywhere but PRIVATE-TOKEN.
func (f *fixture) changes() []string {
	f.t.Helper()
	var out []string
	for _, r := range f.double.Requests() {
		if strings.Contains(r.EscapedPath, "/rotate") {
			f.t.Fatalf("the provider called the rotate endpoint: %s %s", r.Method, r.EscapedPath)
		}
		if strings.Contains(string(r.Body), ownerToken) || strings.Contains(r.EscapedPath, ownerToken) {
			f.t.Fatalf("the admin token left the PRIVATE-TOKEN header: %+v", r)
		}
		if r.Method != "GET" {
			out = append(out, r.Method+" "+r.EscapedPath)
		}
	}
	return out
}

// pulls asks the double's /jwt/auth whether user:pass may pull repo.
func (f *fixture) pulls(user, pass, repo string) bool {
	f.t.Helper()
	c := &jwtClient{base: f.srv.URL}
	ok, err := c.canPull(user, pass, repo)
	if err != nil {
		f.t.Fatal(err)
	}
	return ok
}

func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, ownerToken, devToken) {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Fatalf("a secret appears in the error: %v", err)
		}
	}
}

// jwtClient asks a /jwt/auth realm for registry tokens.
type jwtClient struct{ base string }

func (c *jwtClient) canPull(user, pass, repo string) (bool, error) {
	req, err := http.NewRequest("GET", c.base+"/jwt/auth?service=container_registry&scope="+
		url.QueryEscape("repository:"+repo+":pull"), nil)
	if err != nil {
		return false, err
	}
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, nil
	}
	var tr registrytoken.Response
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return false, err
	}
	claims, err := testIssuer().Verify(tr.Token, time.Now())
	if err != nil {
		return false, err
	}
	return len(claims.Actions("repository", repo)) == 1, nil
}

// adminPost creates something in the double as the owner and returns the new id.
func adminPost(f *fixture, path, body string) (string, error) {
	req, err := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("PRIVATE-TOKEN", ownerToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create %s: %d %w", path, resp.StatusCode, err)
	}
	return strconv.FormatInt(out.ID, 10), nil
}
