package verify_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rotatorhq/rotator/internal/verify"
)

// fakeUsers are the accounts of the proof tests: Harbor-style robot names work for
// the GitLab flavour as well, the double does not care.
func fakeUsers() map[string]fakeUser {
	return map[string]fakeUser{
		"robot$pub+pull":  {Password: goodPass, Projects: []string{"pub"}},
		"robot$priv+pull": {Password: goodPass, Projects: []string{"priv"}},
		"robot$pub+gone":  {Password: expiredPass, Projects: []string{"pub"}, Disabled: true},
		"robot$priv+gone": {Password: expiredPass, Projects: []string{"priv"}, Disabled: true},
		"robot$none":      {Password: goodPass}, // valid, may pull nothing
	}
}

var fakeImages = []string{"pub/app:1", "priv/app:1", "pub/signed:1"}

// On a public project a pull with Harbor's anonymous token succeeds, so a wrong
// password, or a deleted, disabled or expired robot, must fail on the proof of
// identity, before the pull (issue 14, items 3 and 4). On main each "refused on a
// public project" row passes verification (nil).
func TestPullCheckProvesIdentity(t *testing.T) {
	tests := []struct {
		name      string
		flavor    flavor
		shape     tokenShape
		image     string
		auth      authn.Authenticator
		want      verify.Reason // "" = success
		stage     verify.Stage
		anonToken bool // the failure is the anonymous JWT itself (errors.Is ErrAnonymousToken)
		tokenReqs int  // token requests the check may send
	}{
		{"harbor: good robot, public project", harborFlavor, jwtNamed, "pub/app:1", basic("robot$pub+pull", goodPass), "", "", false, 1},
		{"harbor: good robot, private project", harborFlavor, jwtNamed, "priv/app:1", basic("robot$priv+pull", goodPass), "", "", false, 1},
		{"harbor: wrong password, public project", harborFlavor, jwtNamed, "pub/app:1", basic("robot$pub+pull", wrongPass), verify.ReasonUnauthorized, verify.StageToken, false, 2},
		{"harbor: unknown robot, public project", harborFlavor, jwtNamed, "pub/app:1", basic("robot$nobody", goodPass), verify.ReasonUnauthorized, verify.StageToken, false, 2},
		{"harbor: disabled or expired robot, public project", harborFlavor, jwtNamed, "pub/app:1", basic("robot$pub+gone", expiredPass), verify.ReasonUnauthorized, verify.StageToken, false, 2},
		{"harbor: disabled or expired robot, private project", harborFlavor, jwtNamed, "priv/app:1", basic("robot$priv+gone", expiredPass), verify.ReasonUnauthorized, verify.StageToken, false, 2},
		{"harbor: valid robot without permission", harborFlavor, jwtNamed, "priv/app:1", basic("robot$none", goodPass), verify.ReasonUnauthorized, verify.StageManifest, false, 1},
		{"anonymous token with empty sub", harborFlavor, jwtEmptySub, "pub/app:1", basic("robot$pub+pull", wrongPass), verify.ReasonUnauthorized, verify.StageToken, true, 1},
		{"no sub at all: good robot proven without a scope", harborFlavor, jwtNoSub, "pub/app:1", basic("robot$pub+pull", goodPass), "", "", false, 2},
		{"no sub at all: wrong password refused without a scope", harborFlavor, jwtNoSub, "pub/app:1", basic("robot$pub+pull", wrongPass), verify.ReasonUnauthorized, verify.StageToken, false, 2},
		{"opaque tokens: good robot", harborFlavor, opaque, "pub/app:1", basic("robot$pub+pull", goodPass), "", "", false, 2},
		{"opaque tokens: wrong password, public project", harborFlavor, opaque, "pub/app:1", basic("robot$pub+pull", wrongPass), verify.ReasonUnauthorized, verify.StageToken, false, 2},
		{"anonymous check of a public project still works", harborFlavor, jwtNamed, "pub/app:1", nil, "", "", false, 1},
		{"anonymous check of a private project", harborFlavor, jwtNamed, "priv/app:1", authn.Anonymous, verify.ReasonUnauthorized, verify.StageManifest, false, 1},
		{"gitlab: good token, public project", gitlabFlavor, jwtNamed, "pub/app:1", basic("robot$pub+pull", goodPass), "", "", false, 1},
		{"gitlab: wrong password, public project", gitlabFlavor, jwtNamed, "pub/app:1", basic("robot$pub+pull", wrongPass), verify.ReasonUnauthorized, verify.StageToken, false, 1},
		{"gitlab: anonymous check of a public project", gitlabFlavor, jwtNamed, "pub/app:1", nil, "", "", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry(t, fakeOptions{Flavor: tt.flavor, Shape: tt.shape, Users: fakeUsers(), Public: []string{"pub"}, Images: fakeImages})
			image := f.image(tt.image)
			err := (verify.Checker{}).PullCheck(ctxT(t), image, tt.auth)
			if n := len(f.tokenRequests()); n > tt.tokenReqs {
				t.Errorf("%d token requests, want at most %d: %+v", n, tt.tokenReqs, f.tokenRequests())
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("PullCheck: %v", err)
				}
				return
			}
			pe := requirePullError(t, err, image, tt.want)
			if pe.Stage != tt.stage {
				t.Errorf("Stage = %q, want %q: %v", pe.Stage, tt.stage, err)
			}
			if errors.Is(err, verify.ErrAnonymousToken) != tt.anonToken {
				t.Errorf("errors.Is(ErrAnonymousToken) = %v, want %v: %v", !tt.anonToken, tt.anonToken, err)
			}
			if tt.flavor == harborFlavor && tt.stage == verify.StageToken && !strings.Contains(pe.Detail, "anonymous") {
				t.Errorf("Detail does not say the token was anonymous: %q", pe.Detail)
			}
			if !verify.CredentialRefused(err) || verify.Authorised(err) {
				t.Errorf("refused %v, authorised %v; want refused only", verify.CredentialRefused(err), verify.Authorised(err))
			}
		})
	}
}

// After the proof, a failure at the manifest names whom the credential
// authenticated as, and Authorised holds for a missing tag.
func TestPullCheckNamesIdentity(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Users: fakeUsers(), Public: []string{"pub"}, Images: fakeImages})
	image := f.image("pub/app:2")
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$pub+pull", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonNotFound)
	if pe.Identity != "robot$pub+pull" || !strings.Contains(err.Error(), `authenticated the credential as "robot$pub+pull"`) {
		t.Errorf("Identity = %q; error: %v", pe.Identity, err)
	}
	if !verify.Authorised(err) || verify.CredentialRefused(err) {
		t.Errorf("authorised %v, refused %v", verify.Authorised(err), verify.CredentialRefused(err))
	}
}

// A valid robot without pull permission authenticates, and the message says so
// rather than calling it expired.
func TestPullCheckAuthenticatedWithoutAccess(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Users: fakeUsers(), Images: fakeImages})
	image := f.image("priv/app:1")
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$none", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonUnauthorized)
	if pe.Stage != verify.StageManifest || pe.Identity != "robot$none" || !strings.Contains(err.Error(), "lacks pull permission") {
		t.Errorf("Stage %q, Identity %q: %v", pe.Stage, pe.Identity, err)
	}
	if !verify.CredentialRefused(err) {
		t.Errorf("not refused: %v", err)
	}
}

// A project policy answers 412 after authorisation: bare to HEAD, with
// PROJECTPOLICYVIOLATION to GET, which reuses the token (item 2). On a public
// project a wrong password must not pass as "authorised, refused by policy": on
// main it does (ReasonPolicy, Authorised).
func TestPullCheckPolicyOnPublicProject(t *testing.T) {
	const msg = "The image is not signed by cosign."
	opts := fakeOptions{Users: fakeUsers(), Public: []string{"pub"}, Images: fakeImages, Policy: map[string]string{"pub/signed": msg}}

	t.Run("good robot: policy, authorised", func(t *testing.T) {
		f := newFakeRegistry(t, opts)
		image := f.image("pub/signed:1")
		err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$pub+pull", goodPass))
		pe := requirePullError(t, err, image, verify.ReasonPolicy)
		if pe.Stage != verify.StageManifest || pe.Status != http.StatusPreconditionFailed || !strings.Contains(pe.Detail, msg) {
			t.Errorf("Stage, Status, Detail = %q, %d, %q", pe.Stage, pe.Status, pe.Detail)
		}
		for _, want := range []string{"authenticated and was authorised", "not a credential failure", `as "robot$pub+pull"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
		}
		if !verify.Authorised(err) || verify.CredentialRefused(err) {
			t.Errorf("authorised %v, refused %v", verify.Authorised(err), verify.CredentialRefused(err))
		}
		var head, get int
		for _, r := range f.requests() {
			if r.Path == "/v2/pub/signed/manifests/1" && r.Status == http.StatusPreconditionFailed && r.Auth == "Bearer" {
				switch r.Method {
				case http.MethodHead:
					head++
				case http.MethodGet:
					get++
				}
			}
		}
		if head != 1 || get != 1 || len(f.tokenRequests()) != 1 {
			t.Errorf("HEAD 412 %d, GET 412 %d, token requests %d; want 1, 1, 1: %+v", head, get, len(f.tokenRequests()), f.requests())
		}
	})
	for _, tt := range []struct {
		name string
		auth authn.Authenticator
	}{
		{"wrong password", basic("robot$pub+pull", wrongPass)},
		{"disabled robot", basic("robot$pub+gone", expiredPass)},
	} {
		t.Run(tt.name+": refused, not policy", func(t *testing.T) {
			f := newFakeRegistry(t, opts)
			image := f.image("pub/signed:1")
			err := (verify.Checker{}).PullCheck(ctxT(t), image, tt.auth)
			_ = requirePullError(t, err, image, verify.ReasonUnauthorized)
			if verify.Authorised(err) {
				t.Errorf("Authorised: %v", err)
			}
		})
	}
}

// The issued token never appears in an error text.
func TestPullCheckScrubsToken(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Users: fakeUsers(), Images: fakeImages, Shape: opaque})
	image := f.image("priv/app:1")
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$none", goodPass))
	_ = requirePullError(t, err, image, verify.ReasonUnauthorized)
	f.mu.Lock()
	defer f.mu.Unlock()
	for tok := range f.issued {
		if strings.Contains(err.Error(), tok) {
			t.Errorf("error text contains an issued token: %v", err)
		}
	}
}

// GitLab leaves "sub" out of the token of a deploy token (it has no current_user)
// and names it in the nested "user" claim only; before that claim existed, only
// the request without a scope tells a valid deploy token from an anonymous one.
// A valid deploy token must pass, with no failed login.
func TestPullCheckGitLabDeployToken(t *testing.T) {
	users := map[string]fakeUser{"gitlab+deploy-token-3": {Password: goodPass, Projects: []string{"priv", "pub"}}}
	for _, tt := range []struct {
		name        string
		noUserClaim bool
		image       string
		pass        string
		want        verify.Reason
		tokenReqs   int
		failed      int
	}{
		{"named by the user claim", false, "priv/app:1", goodPass, "", 1, 0},
		{"named by the user claim, public project", false, "pub/app:1", goodPass, "", 1, 0},
		{"before the user claim: proven without a scope", true, "priv/app:1", goodPass, "", 2, 0},
		{"before the user claim, public project", true, "pub/app:1", goodPass, "", 2, 0},
		{"wrong password", false, "pub/app:1", wrongPass, verify.ReasonUnauthorized, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: users, Public: []string{"pub"}, Images: fakeImages, NoUserClaim: tt.noUserClaim})
			image := f.image(tt.image)
			err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("gitlab+deploy-token-3", tt.pass))
			if tt.want == "" && err != nil {
				t.Fatalf("PullCheck: %v", err)
			}
			if tt.want != "" {
				_ = requirePullError(t, err, image, tt.want)
			}
			if n := len(f.tokenRequests()); n != tt.tokenReqs || f.failedLogins() != tt.failed {
				t.Errorf("%d token requests, %d failed; want %d, %d: %+v", n, f.failedLogins(), tt.tokenReqs, tt.failed, f.tokenRequests())
			}
		})
	}
}
