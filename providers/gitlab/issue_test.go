package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
)

// A group deploy token: read_registry only, the expiry date rounded up to 00:00 UTC, the name
// prefix plus time, GitLab's username; it pulls every project of the group and nothing else.
func TestIssueGroupDeployToken(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	cred, err := p.Issue(context.Background(), spec("group-a"))
	if err != nil {
		t.Fatal(err)
	}
	wantExpiry := time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC) // 2026-11-24 12:00 + 30d, rounded up
	if !cred.ExpiresAt.Equal(wantExpiry) || !cred.IssuedAt.Equal(start) {
		t.Fatalf("issued %v expires %v", cred.IssuedAt, cred.ExpiresAt)
	}
	if !strings.HasPrefix(cred.Name, "rotator-gl-20261124t120000-") || cred.ID == "" {
		t.Fatalf("name %q id %q", cred.Name, cred.ID)
	}
	if !strings.HasPrefix(cred.Username, "gitlab+deploy-token-") || !strings.HasPrefix(cred.Password, "gldt-") {
		t.Fatalf("login %q", cred.Username)
	}
	toks := f.double.DeployTokens()
	if len(toks) != 1 || toks[0].HolderKind != "group" || toks[0].Holder != "group-a" ||
		len(toks[0].Scopes) != 1 || toks[0].Scopes[0] != "read_registry" || !toks[0].ExpiresAt.Equal(wantExpiry) {
		t.Fatalf("GitLab holds %+v", toks)
	}
	reqs := f.double.Requests()
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["expires_at"] != "2026-12-25T00:00:00Z" || reqs[0].Header.Get("PRIVATE-TOKEN") != "REDACTED" {
		t.Fatalf("create request %s %v", reqs[0].Body, reqs[0].Header)
	}
	if !f.pulls(cred.Username, cred.Password, "group-a/app") || !f.pulls(cred.Username, cred.Password, "group-a/sub/deep") {
		t.Fatal("the group deploy token does not pull its group's projects")
	}
	if f.pulls(cred.Username, cred.Password, "group-b/other") {
		t.Fatal("the group deploy token pulls outside its group")
	}
	if c := f.changes(); len(c) != 1 || c[0] != "POST /api/v4/groups/group-a/deploy_tokens" {
		t.Fatalf("requests %v", c)
	}
}

// A project deploy token of a nested project is created through the URL-encoded path, with the
// configured username.
func TestIssueProjectDeployTokenURLEncodedWithUsername(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Username: "k8s-puller"})
	cred, err := p.Issue(context.Background(), spec("group-a/sub/deep"))
	if err != nil {
		t.Fatal(err)
	}
	if cred.Username != "k8s-puller" || !f.pulls("k8s-puller", cred.Password, "group-a/sub/deep") {
		t.Fatalf("username %q", cred.Username)
	}
	if c := f.changes(); len(c) != 1 || c[0] != "POST /api/v4/projects/group-a%2Fsub%2Fdeep/deploy_tokens" {
		t.Fatalf("requests %v", c)
	}
}

// Access tokens get read_registry and the Reporter role (the lowest that can pull), a date
// expiry, and log in with the token's name.
func TestIssueAccessTokens(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		kind   TokenKind
		group  bool
		holder string
	}{{GroupAccessToken, true, "group-a"}, {ProjectAccessToken, false, "group-a/app"}} {
		p := f.provider(Options{Kind: c.kind, Group: c.group})
		cred, err := p.Issue(context.Background(), spec(c.holder))
		if err != nil {
			t.Fatal(err)
		}
		if cred.Username != cred.Name || !strings.HasPrefix(cred.Password, "glpat-") {
			t.Fatalf("%s login %q", c.kind, cred.Username)
		}
		if !f.pulls(cred.Username, cred.Password, "group-a/app") {
			t.Fatalf("%s does not pull", c.kind)
		}
	}
	toks := f.double.AccessTokens()
	if len(toks) != 2 {
		t.Fatalf("GitLab holds %+v", toks)
	}
	for _, tok := range toks {
		if tok.AccessLevel != gitlabdouble.Reporter || len(tok.Scopes) != 1 || tok.Scopes[0] != "read_registry" ||
			!tok.ExpiresAt.Equal(time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)) || tok.Description != "rotator test" {
			t.Fatalf("token %+v", tok)
		}
	}
	f.changes()
}

// expiryDate rounds up to a whole date, never beyond 365 days after today.
func TestExpiryDate(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		now      time.Time
		lifetime time.Duration
		want     string
	}{
		{start, 30 * day, "2026-12-25"},
		{time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), 30 * day, "2026-12-24"},
		{start, time.Hour, "2026-11-25"},
		{start, 365 * day, "2027-11-24"}, // rounding up would pass GitLab's limit
		{time.Date(2026, 11, 25, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 30 * time.Minute, "2026-11-25"}, // 23:30 UTC the day before
	}
	for _, c := range cases {
		got := expiryDate(c.now, c.lifetime)
		if got.Format(time.DateOnly) != c.want || got.Hour() != 0 || got.Location() != time.UTC {
			t.Errorf("expiryDate(%v, %v) = %v, want %s 00:00 UTC", c.now, c.lifetime, got, c.want)
		}
	}
}

// A lifetime GitLab cannot express is refused before any request.
func TestIssueRefusesBadLifetimeAndSpec(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	bad := spec("group-a")
	bad.Lifetime = 366 * 24 * time.Hour
	if _, err := p.Issue(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "365 days") {
		t.Fatalf("lifetime over 365 days: %v", err)
	}
	bad.Lifetime = 0
	if _, err := p.Issue(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Fatalf("lifetime 0: %v", err)
	}
	bad = spec("group-a")
	bad.NamePrefix, bad.Projects = "", []string{"a", "b"}
	_, err := p.Issue(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "prefix") || !strings.Contains(err.Error(), "exactly one") {
		t.Fatalf("every problem at once: %v", err)
	}
	if len(f.double.Requests()) != 0 {
		t.Fatal("a refused spec reached GitLab")
	}
}

// New reports every problem of the options at once, without the token.
func TestNewValidatesOptions(t *testing.T) {
	_, err := New(Options{URL: "ftp://user:pw@gitlab", Kind: GroupAccessToken, Group: false})
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{"scheme", "credentials", "admin token is required", "needs a group"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("the URL's password is in the error: %v", err)
	}
	if _, err := New(Options{URL: "https://gitlab.example.com/api/v4/", Token: "x", Kind: ProjectAccessToken, Username: "u"}); err == nil {
		t.Error("a username with an access token kind accepted")
	}
	p, err := New(Options{URL: "https://gitlab.example.com/api/v4/", Token: "x"})
	if err != nil || p.url != "https://gitlab.example.com" || p.kind != DeployToken {
		t.Fatalf("%v %+v", err, p)
	}
}

// The admin token is asked for at each request; a failure to read it is reported as that, and
// nothing reaches GitLab.
func TestTokenFunc(t *testing.T) {
	f := newFixture(t)
	calls := 0
	p := f.provider(Options{Group: true, TokenFunc: func(ctx context.Context) (string, error) {
		calls++
		if calls > 1 {
			return "", errors.New("vault: read secret/gitlab: permission denied")
		}
		return ownerToken, nil
	}})
	if _, err := p.Issue(context.Background(), spec("group-a")); err != nil {
		t.Fatal(err)
	}
	_, err := p.List(context.Background(), spec("group-a"))
	var tokErr *TokenError
	if !errors.As(err, &tokErr) || !strings.Contains(err.Error(), "read the GitLab admin token: vault") {
		t.Fatalf("want a TokenError, got %v", err)
	}
	if n := len(f.double.Requests()); n != 1 {
		t.Fatalf("%d requests reached GitLab, want only the first", n)
	}
}
