package gitlab

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/internal/retry"
)

// GitLab's refusals become the providers sentinels with messages that say what to fix.
func TestIssueErrorsSayWhatToFix(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name  string
		opts  Options
		spec  func() providers.Spec
		setup func()
		kind  error
		want  []string
	}{
		{
			name: "wrong admin token", opts: Options{Group: true, Token: "glpat-wrong"},
			spec: func() providers.Spec { return spec("group-a") }, kind: providers.ErrAuth,
			want: []string{"refused the admin token", "gitlab.tokenFrom", "401"},
		},
		{
			name: "developer may not create deploy tokens", opts: Options{Group: true, Token: devToken},
			spec: func() providers.Spec { return spec("group-a") }, kind: providers.ErrForbidden,
			want: []string{"Owner role in group \"group-a\"", "403 Forbidden"},
		},
		{
			name: "developer on a project", opts: Options{Token: devToken},
			spec: func() providers.Spec { return spec("group-a/app") }, kind: providers.ErrForbidden,
			want: []string{"Maintainer or Owner role in project \"group-a/app\""},
		},
		{
			name: "unknown group", opts: Options{Group: true},
			spec: func() providers.Spec { return spec("group-a/missing") }, kind: providers.ErrNotFound,
			want: []string{"/api/v4/groups/group-a%2Fmissing/deploy_tokens", "404 Group Not Found", "check gitlab.group"},
		},
		{
			name: "developer may not create access tokens", opts: Options{Kind: GroupAccessToken, Group: true, Token: devToken},
			spec: func() providers.Spec { return spec("group-a") }, kind: providers.ErrForbidden,
			want: []string{"User does not have permission", "Owner role"},
		},
		{
			name: "expiry beyond the instance limit", opts: Options{Kind: GroupAccessToken, Group: true},
			spec:  func() providers.Spec { return spec("group-a") },
			setup: func() { f.double.SetMaxTokenLifetimeDays(7) },
			kind:  ErrLifetimeLimit,
			want:  []string{"refused the expiry date 2026-12-25", "Expiration date must be before 2026-12-01", "lower credentials[].lifetime"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			_, err := f.provider(c.opts).Issue(context.Background(), c.spec())
			if !errors.Is(err, c.kind) {
				t.Fatalf("want %v, got %v", c.kind, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in %v", w, err)
				}
			}
			noSecret(t, err)
		})
	}
	if n := len(f.double.DeployTokens()) + len(f.double.AccessTokens()); n != 0 {
		t.Fatalf("%d tokens created by refused calls", n)
	}
}

// A 429 on create is waited out for Retry-After and retried: the rate limiter answered before
// GitLab acted. A persistent 429 gives up after the bounded attempts; a Retry-After longer than
// the rotator waits is not waited for.
func TestIssueRateLimited(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	path := "/api/v4/groups/group-a/deploy_tokens"
	f.double.Inject(gitlabdouble.Fault{Method: "POST", PathPrefix: path, Status: 429, RetryAfter: "2"})
	if _, err := p.Issue(context.Background(), spec("group-a")); err != nil {
		t.Fatal(err)
	}
	if len(f.sleeps) != 1 || f.sleeps[0] != 2*time.Second {
		t.Fatalf("waits %v, want [2s] (Retry-After)", f.sleeps)
	}

	f.sleeps = nil
	f.double.FailNext("POST", path, 429, 10)
	_, err := p.Issue(context.Background(), spec("group-a"))
	if err == nil || !strings.Contains(err.Error(), "rate-limiting") || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Fatalf("persistent 429: %v", err)
	}
	if len(f.sleeps) != 3 {
		t.Fatalf("waits %v", f.sleeps)
	}
	f.double.ClearFaults()

	f.sleeps = nil
	f.double.Inject(gitlabdouble.Fault{Method: "POST", PathPrefix: path, Status: 429, RetryAfter: "3600"})
	_, err = p.Issue(context.Background(), spec("group-a"))
	if err == nil || !strings.Contains(err.Error(), "retry after 1h0m0s, longer than the rotator waits") || len(f.sleeps) != 0 {
		t.Fatalf("long Retry-After: %v (waits %v)", err, f.sleeps)
	}
	if n := len(f.double.DeployTokens()); n != 1 {
		t.Fatalf("%d tokens, want the one of the first call", n)
	}
}

// A 5xx on create is not retried: GitLab may have created the token, and a retry would make a
// second. Reads are retried with backoff.
func TestServerErrors(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	f.double.FailNext("POST", "/api/v4/groups/group-a/deploy_tokens", 500, 1)
	_, err := p.Issue(context.Background(), spec("group-a"))
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "may have created token") {
		t.Fatalf("5xx on create: %v", err)
	}
	if n := len(f.double.Requests()); n != 1 {
		t.Fatalf("create sent %d times", n)
	}

	f.double.FailNext("GET", "/api/v4/groups/group-a/deploy_tokens", 503, 2)
	if _, err := p.List(context.Background(), spec("group-a")); err != nil {
		t.Fatalf("list after two 503: %v", err)
	}
	if len(f.sleeps) != 2 || f.sleeps[0] != 500*time.Millisecond || f.sleeps[1] != time.Second {
		t.Fatalf("backoff %v", f.sleeps)
	}
	f.double.FailNext("GET", "/api/v4/groups/group-a/deploy_tokens", 502, 4)
	_, err = p.List(context.Background(), spec("group-a"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") || !strings.Contains(err.Error(), "502") {
		t.Fatalf("persistent 502: %v", err)
	}
}

// A cancelled context stops the waiting at once.
func TestRetryStopsWithContext(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	p.retry.Sleep = retry.SleepCtx
	f.double.Inject(gitlabdouble.Fault{Method: "GET", PathPrefix: "/api/v4/", Status: 429, RetryAfter: "20", Times: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := p.List(ctx, spec("group-a"))
	if err == nil || time.Since(t0) > 5*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after %s: %v", time.Since(t0), err)
	}
}

// A redirect is reported, not followed: Go would carry PRIVATE-TOKEN to the other host.
func TestRedirectNotFollowed(t *testing.T) {
	hits := 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer redirect.Close()
	f := newFixture(t)
	p := f.provider(Options{URL: redirect.URL, Group: true})
	_, err := p.List(context.Background(), spec("group-a"))
	if err == nil || !strings.Contains(err.Error(), "redirects to") || hits != 0 {
		t.Fatalf("redirect: %v (other host hit %d times)", err, hits)
	}
}
