package gitlab

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone tests never depend on the machine's zoneinfo

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
	"github.com/rotatorhq/rotator/providers"
)

const (
	botToken     = "glpat-bot-secret-value"
	readAPIToken = "glpat-read-api-secret-value"
	expiredToken = "glpat-expired-secret-value"
	revokedToken = "glpat-revoked-secret-value"
)

// newRealFixture is newFixture with Options edited, and with more identities: a group bot
// (Owner of group-a), a read_api token, an expired and a revoked token (all Owner of group-a).
func newRealFixture(t *testing.T, edit func(*gitlabdouble.Options)) *fixture {
	t.Helper()
	o := gitlabdouble.Options{
		Users: []gitlabdouble.User{
			{Username: "owner", Token: ownerToken, Roles: map[string]int{"group-a": gitlabdouble.Owner, "group-b": gitlabdouble.Owner}},
			{Username: "dev", Token: devToken, Roles: map[string]int{"group-a": gitlabdouble.Developer}},
			{Username: "group_1_bot_3f2a", Token: botToken, Bot: true, Roles: map[string]int{"group-a": gitlabdouble.Owner}},
			{Username: "reader", Token: readAPIToken, Scopes: []string{"read_api"}, Roles: map[string]int{"group-a": gitlabdouble.Owner}},
			{Username: "old", Token: expiredToken, ExpiresAt: start.Add(-time.Hour), Roles: map[string]int{"group-a": gitlabdouble.Owner}},
			{Username: "gone", Token: revokedToken, Revoked: true, Roles: map[string]int{"group-a": gitlabdouble.Owner}},
		},
		Groups:   []string{"group-a", "group-a/sub", "group-b"},
		Projects: []string{"group-a/app", "group-a/sub/deep", "group-b/other"},
		Issuer:   testIssuer(),
		Now:      func() time.Time { return start },
	}
	if edit != nil {
		edit(&o)
	}
	d, err := gitlabdouble.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return &fixture{t: t, double: d, srv: srv}
}

func wantErr(t *testing.T, err error, kinds []error, texts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kinds)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Errorf("error is not %v: %v", k, err)
		}
	}
	for _, w := range texts {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
	noSecret(t, err, botToken, readAPIToken, expiredToken, revokedToken)
}

// A bot's admin token (a group access token) gets the hint that bots never create access
// tokens, and still issues deploy tokens (issue 14, item 9).
func TestBotAdminToken(t *testing.T) {
	f := newRealFixture(t, nil)
	for _, c := range []struct {
		opts   Options
		holder string
	}{{Options{Kind: GroupAccessToken, Group: true, Token: botToken}, "group-a"}, {Options{Kind: ProjectAccessToken, Token: botToken}, "group-a/app"}} {
		_, err := f.provider(c.opts).Issue(context.Background(), spec(c.holder))
		wantErr(t, err, []error{providers.ErrForbidden, ErrBotAdmin},
			"the admin token is a project/group access token (bot user \"group_1_bot_3f2a\")", "bots cannot create access tokens",
			"personal access token of a person with Maintainer/Owner", "deploy tokens", "User does not have permission")
	}
	if _, err := f.provider(Options{Group: true, Token: botToken}).Issue(context.Background(), spec("group-a")); err != nil {
		t.Fatalf("a bot with Owner issuing a deploy token: %v", err)
	}
	if n := len(f.double.AccessTokens()); n != 0 {
		t.Fatalf("%d access tokens created", n)
	}
}

// gitlab.com plans and the creation setting each get their own explanation and the advice to
// use deploy tokens (issue 14, item 10).
func TestAccessTokensRefusedByPlanOrSetting(t *testing.T) {
	t.Run("trial: the second project token while the first is still active", func(t *testing.T) {
		f := newRealFixture(t, func(o *gitlabdouble.Options) { o.Plan = gitlabdouble.PlanTrial })
		p := f.provider(Options{Kind: ProjectAccessToken})
		if _, err := p.Issue(context.Background(), spec("group-a/app")); err != nil {
			t.Fatal(err)
		}
		_, err := p.Issue(context.Background(), spec("group-a/app"))
		wantErr(t, err, []error{providers.ErrForbidden, ErrAccessTokenLimit}, "Access token limit reached", "trial allows one active project access token",
			"grace period", "Premium", "tokenKind: deployToken")
	})
	t.Run("free: no access tokens at all", func(t *testing.T) {
		f := newRealFixture(t, func(o *gitlabdouble.Options) { o.Plan = gitlabdouble.PlanFree })
		_, err := f.provider(Options{Kind: GroupAccessToken, Group: true}).Issue(context.Background(), spec("group-a"))
		wantErr(t, err, []error{providers.ErrForbidden}, "User does not have permission", "Premium or Ultimate", "group access tokens a paid plan",
			"tokenKind: deployToken")
		// On gitlab.com the plan comes first. (Only the messages read p.url; requests go to the double.)
		p := f.provider(Options{Kind: ProjectAccessToken})
		p.url = "https://gitlab.com"
		_, err = p.Issue(context.Background(), spec("group-a/app"))
		wantErr(t, err, []error{providers.ErrForbidden, ErrAccessTokensUnavailable}, "GitLab refused to create a project access token: on gitlab.com",
			"also refuses to list them", "tokenKind: deployToken")
	})
	t.Run("creation switched off", func(t *testing.T) {
		f := newRealFixture(t, nil)
		f.double.SetAccessTokenCreation(false)
		_, err := f.provider(Options{Kind: GroupAccessToken, Group: true}).Issue(context.Background(), spec("group-a"))
		wantErr(t, err, []error{providers.ErrForbidden, ErrAccessTokensUnavailable}, "access token creation is switched off",
			"Users can create project access tokens and group access tokens", "tokenKind: deployToken")
	})
}

// Near midnight UTC, an instance west of UTC allows one day less: the provider asks again for
// the date GitLab names, once (issue 14, item 12).
func TestExpiryInInstanceTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("time zone data (embedded by time/tzdata): %v", err)
	}
	at := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC) // 2026-11-23 21:00 in New York
	f := newRealFixture(t, func(o *gitlabdouble.Options) {
		o.TimeZone = ny
		o.Now = func() time.Time { return at }
	})
	p := f.provider(Options{Kind: GroupAccessToken, Group: true})
	p.now = func() time.Time { return at }
	s := spec("group-a")
	s.Lifetime = 365 * 24 * time.Hour
	cred, err := p.Issue(context.Background(), s)
	if err != nil {
		t.Fatalf("365 days on a New York instance at 02:00 UTC: %v", err)
	}
	if want := time.Date(2027, 11, 23, 0, 0, 0, 0, time.UTC); !cred.ExpiresAt.Equal(want) {
		t.Fatalf("expires %s, want %s", cred.ExpiresAt, want)
	}
	if ch := f.changes(); len(ch) != 2 {
		t.Fatalf("creates %v, want two (the refused one and its retry)", ch)
	}
	// A real lifetime limit is not retried around: the configured lifetime must change.
	f.double.SetMaxTokenLifetimeDays(30)
	f.double.ResetRequests()
	_, err = p.Issue(context.Background(), s)
	wantErr(t, err, []error{ErrLifetimeLimit}, "Expiration date must be before 2026-12-23", "lower credentials[].lifetime")
	if ch := f.changes(); len(ch) != 1 {
		t.Fatalf("creates %v, want one", ch)
	}
}

// GitLab's other error bodies: an expired or revoked admin token, one without api, and the
// application rate limiter's 429 (issue 14, item 13).
func TestAdminTokenErrorBodies(t *testing.T) {
	f := newRealFixture(t, nil)
	cases := []struct {
		name  string
		token string
		setup func()
		kinds []error
		want  []string
	}{
		{name: "expired", token: expiredToken, kinds: []error{providers.ErrAuth, ErrAdminTokenExpired},
			want: []string{"the admin token has expired", "invalid_token", "Token is expired", "gitlab.tokenFrom"}},
		{name: "revoked", token: revokedToken, kinds: []error{providers.ErrAuth, ErrAdminTokenRevoked},
			want: []string{"the admin token was revoked", "Token was revoked"}},
		{name: "read_api only", token: readAPIToken, kinds: []error{providers.ErrForbidden, ErrAdminTokenScope},
			want: []string{"lacks the api scope", "insufficient_scope", "with the api scope"}},
		{name: "application rate limit", token: ownerToken, kinds: nil,
			setup: func() {
				f.double.Inject(gitlabdouble.FaultRateLimited("POST", "/api/v4/groups/group-a/deploy_tokens", "3600"))
			},
			want: []string{"rate-limiting", "429", "This endpoint has been requested too many times", "asks to wait 3600 s (Retry-After)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			_, err := f.provider(Options{Group: true, Token: c.token}).Issue(context.Background(), spec("group-a"))
			wantErr(t, err, c.kinds, c.want...)
			if strings.Contains(err.Error(), `{"`) {
				t.Errorf("raw JSON in the error: %v", err)
			}
		})
	}
}

// A 404 that is GitLab's routing answer (a proxy decoded %2F), or a proxy's HTML page, is not
// "the token is gone": Revoke fails and names the proxy; the token is left alone (issue 14,
// item 14).
func TestRevokeRouteNotFoundIsNotGone(t *testing.T) {
	f := newRealFixture(t, func(o *gitlabdouble.Options) { o.ProxyDecodesEncodedSlashes = true })
	// Created by numeric id (2 is group-a/sub), which no proxy mangles.
	id, err := adminPost(f, "/api/v4/groups/2/deploy_tokens", `{"name":"rotator-gl-20261124t120000-ab12","scopes":["read_registry"]}`)
	if err != nil {
		t.Fatal(err)
	}
	p := f.provider(Options{Group: true})
	err = p.Revoke(context.Background(), spec("group-a/sub"), id)
	wantErr(t, err, []error{providers.ErrNotFound, ErrRouteNotFound}, "reverse proxy", "%2F", `"group-a/sub"`, "numeric id", "404 Not Found")
	if len(f.double.DeployTokens()) != 1 {
		t.Fatal("the token was deleted")
	}

	// A proxy's own 404 page on the delete itself.
	g := newRealFixture(t, nil)
	c, err := g.provider(Options{Group: true}).Issue(context.Background(), spec("group-a"))
	if err != nil {
		t.Fatal(err)
	}
	g.double.Inject(gitlabdouble.FaultProxyNotFound("DELETE", "/api/v4/groups/group-a/deploy_tokens/"))
	err = g.provider(Options{Group: true}).Revoke(context.Background(), spec("group-a"), c.ID)
	wantErr(t, err, []error{ErrRouteNotFound}, "HTML page", "gitlab.url")
	if len(g.double.DeployTokens()) != 1 {
		t.Fatal("the token vanished")
	}
}

// CheckAdminToken reports the admin token's own problems (the doctor's check).
func TestCheckAdminToken(t *testing.T) {
	f := newRealFixture(t, nil)
	info, err := f.provider(Options{Group: true}).CheckAdminToken(context.Background())
	if err != nil || info.Username != "owner" || info.Bot || len(info.Scopes) != 1 || info.Scopes[0] != "api" {
		t.Fatalf("a good token: %+v %v", info, err)
	}
	cases := []struct {
		name  string
		opts  Options
		kinds []error
		want  []string
	}{
		{"expired", Options{Group: true, Token: expiredToken}, []error{providers.ErrAuth, ErrAdminTokenExpired}, []string{"has expired"}},
		{"revoked", Options{Group: true, Token: revokedToken}, []error{providers.ErrAuth, ErrAdminTokenRevoked}, []string{"was revoked"}},
		{"read_api", Options{Group: true, Token: readAPIToken}, []error{ErrAdminTokenScope}, []string{"[read_api]", "not api"}},
		{"bot for access tokens", Options{Kind: GroupAccessToken, Group: true, Token: botToken}, []error{ErrBotAdmin}, []string{"bots cannot create access tokens"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.provider(c.opts).CheckAdminToken(context.Background())
			wantErr(t, err, c.kinds, c.want...)
		})
	}
	if info, err := f.provider(Options{Group: true, Token: botToken}).CheckAdminToken(context.Background()); err != nil || !info.Bot {
		t.Fatalf("a bot for deploy tokens is fine: %+v %v", info, err)
	}
}
