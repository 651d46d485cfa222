package gitlab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/providers"
)

// List follows every page and returns only the rotator's tokens for the prefix, with their
// issue time read from the name.
func TestListFollowsPagesAndFiltersByPrefix(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	var ours []string
	for range 3 {
		c, err := p.Issue(context.Background(), spec("group-a"))
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, c.ID)
	}
	other := spec("group-a")
	other.NamePrefix = "rotator-gl-x-" // a credential "gl-x": its tokens are not "gl"'s
	if _, err := p.Issue(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	for i := range 230 { // someone else's tokens, so that the walk spans three pages
		body := fmt.Sprintf(`{"name":"manual-%d","scopes":["read_registry"]}`, i)
		if _, err := adminPost(f, "/api/v4/groups/group-a/deploy_tokens", body); err != nil {
			t.Fatal(err)
		}
	}
	f.double.ResetRequests()
	got, err := p.List(context.Background(), spec("group-a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("listed %+v", got)
	}
	for i, o := range got {
		if o.ID != ours[i] || !o.IssuedAt.Equal(start) || !o.ExpiresAt.Equal(time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("owned %+v", o)
		}
	}
	pages := 0
	for _, r := range f.double.Requests() {
		if r.Method == "GET" {
			pages++
			if r.Query.Get("per_page") != "100" {
				t.Errorf("per_page %q", r.Query.Get("per_page"))
			}
		}
	}
	if pages != 3 {
		t.Fatalf("walked %d pages, want 3", pages)
	}
}

// Revoke deletes the rotator's token; a token already gone is fine; a token without the prefix
// is refused and left alone.
func TestRevokeDeployToken(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Group: true})
	c, err := p.Issue(context.Background(), spec("group-a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(context.Background(), spec("group-a"), c.ID); err != nil {
		t.Fatal(err)
	}
	if len(f.double.DeployTokens()) != 0 || f.pulls(c.Username, c.Password, "group-a/app") {
		t.Fatal("the revoked token is still there or still pulls")
	}
	if err := p.Revoke(context.Background(), spec("group-a"), c.ID); err != nil {
		t.Fatalf("revoking a token already gone: %v", err)
	}

	manual, err := adminPost(f, "/api/v4/groups/group-a/deploy_tokens", `{"name":"ci-manual","scopes":["read_registry"]}`)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Revoke(context.Background(), spec("group-a"), manual)
	if !errors.Is(err, ErrNotOwned) || !strings.Contains(err.Error(), "ci-manual") || !strings.Contains(err.Error(), "rotator-gl-") {
		t.Fatalf("foreign token: %v", err)
	}
	if len(f.double.DeployTokens()) != 1 {
		t.Fatal("a foreign token was deleted")
	}
	// A group the admin cannot see is not "gone": the token may still exist there.
	err = p.Revoke(context.Background(), spec("group-a/missing"), c.ID)
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	if err := p.Revoke(context.Background(), spec("group-a"), "12x"); err == nil {
		t.Fatal("a malformed id accepted")
	}
	f.changes()
}

// An access token is revoked (GitLab keeps listing it); List leaves revoked ones out, and
// revoking again is fine.
func TestRevokeAccessToken(t *testing.T) {
	f := newFixture(t)
	p := f.provider(Options{Kind: ProjectAccessToken})
	s := spec("group-a/app")
	c, err := p.Issue(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := p.Issue(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(context.Background(), s, c.ID); err != nil {
		t.Fatal(err)
	}
	if f.pulls(c.Username, c.Password, "group-a/app") {
		t.Fatal("the revoked access token still pulls")
	}
	got, err := p.List(context.Background(), s)
	if err != nil || len(got) != 1 || got[0].ID != keep.ID {
		t.Fatalf("list after revoke: %+v %v", got, err)
	}
	f.double.ResetRequests()
	if err := p.Revoke(context.Background(), s, c.ID); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	if ch := f.changes(); len(ch) != 0 {
		t.Fatalf("revoking a revoked token sent %v", ch)
	}
}
