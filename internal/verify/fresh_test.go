package verify_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/verify"
)

// recordingSleep returns a Checker.Sleep that records each wait and runs then
// (e.g. a replica catching up), without waiting.
func recordingSleep(waits *[]time.Duration, then func()) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		if then != nil {
			then()
		}
		return ctx.Err()
	}
}

// A credential issued a moment ago may be refused once by a GitLab replica that
// has not seen it yet: PullCheckFresh checks once more after FreshRetryDelay, and
// never more than once (failed /jwt/auth requests count toward GitLab's IP ban;
// issue 14, item 16). On main PullCheckFresh does not exist.
func TestPullCheckFresh(t *testing.T) {
	users := func() map[string]fakeUser {
		u := fakeUsers()
		u["gitlab+deploy-token-7"] = fakeUser{Password: goodPass, Projects: []string{"priv"}, Lagging: true}
		return u
	}
	tests := []struct {
		name      string
		user      string
		pass      string
		image     string
		delay     time.Duration
		want      verify.Reason // "" = success
		waits     []time.Duration
		tokenReqs int
		failed    int // failed logins at /jwt/auth
	}{
		{"lagging replica: refused, then accepted", "gitlab+deploy-token-7", goodPass, "priv/app:1", 2 * time.Second, "", []time.Duration{2 * time.Second}, 2, 1},
		{"zero delay means the default", "gitlab+deploy-token-7", goodPass, "priv/app:1", 0, "", []time.Duration{verify.DefaultFreshRetryDelay}, 2, 1},
		{"wrong password: refused twice, then final", "robot$priv+pull", wrongPass, "priv/app:1", time.Second, verify.ReasonUnauthorized, []time.Duration{time.Second}, 2, 2},
		{"negative delay: no second check", "gitlab+deploy-token-7", goodPass, "priv/app:1", -1, verify.ReasonUnauthorized, nil, 1, 1},
		{"good credential: one check", "robot$priv+pull", goodPass, "priv/app:1", time.Second, "", nil, 1, 0},
		{"missing tag is no refusal: one check", "robot$priv+pull", goodPass, "priv/app:9", time.Second, verify.ReasonNotFound, nil, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: users(), Images: fakeImages})
			var waits []time.Duration
			c := verify.Checker{FreshRetryDelay: tt.delay, Sleep: recordingSleep(&waits, f.catchUp)}
			image := f.image(tt.image)
			err := c.PullCheckFresh(ctxT(t), image, basic(tt.user, tt.pass))
			if tt.want == "" && err != nil {
				t.Fatalf("PullCheckFresh: %v", err)
			}
			if tt.want != "" {
				pe := requirePullError(t, err, image, tt.want)
				if len(tt.waits) > 0 && !strings.Contains(pe.Detail, "refused again") {
					t.Errorf("Detail does not say the check was repeated: %q", pe.Detail)
				}
			}
			if !slices.Equal(waits, tt.waits) {
				t.Errorf("waits %v, want %v", waits, tt.waits)
			}
			if n := len(f.tokenRequests()); n != tt.tokenReqs || f.failedLogins() != tt.failed {
				t.Errorf("%d token requests, %d failed; want %d, %d", n, f.failedLogins(), tt.tokenReqs, tt.failed)
			}
		})
	}
}

// PullCheck itself never checks twice: a lagging credential is refused.
func TestPullCheckDoesNotRetryRefusal(t *testing.T) {
	u := fakeUsers()
	u["gitlab+deploy-token-7"] = fakeUser{Password: goodPass, Projects: []string{"priv"}, Lagging: true}
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: u, Images: fakeImages})
	var waits []time.Duration
	c := verify.Checker{Sleep: recordingSleep(&waits, f.catchUp)}
	image := f.image("priv/app:1")
	_ = requirePullError(t, c.PullCheck(ctxT(t), image, basic("gitlab+deploy-token-7", goodPass)), image, verify.ReasonUnauthorized)
	if len(waits) != 0 || f.failedLogins() != 1 {
		t.Errorf("waits %v, failed logins %d; want none, 1", waits, f.failedLogins())
	}
}

// When the context ends during the wait, the first refusal is returned and the
// registry is not asked again.
func TestPullCheckFreshContextEnds(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: fakeUsers(), Images: fakeImages})
	ctx, cancel := context.WithCancel(ctxT(t))
	c := verify.Checker{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}}
	image := f.image("priv/app:1")
	pe := requirePullError(t, c.PullCheckFresh(ctx, image, basic("robot$priv+pull", wrongPass)), image, verify.ReasonUnauthorized)
	if strings.Contains(pe.Detail, "refused again") || f.failedLogins() != 1 {
		t.Errorf("Detail %q, %d failed logins; want the first refusal, 1", pe.Detail, f.failedLogins())
	}
}

// A valid token without access to the repository gets 200 from /jwt/auth and 401
// at the manifest. go-containerregistry asks the realm again for each 401 and
// again for the GET after the HEAD (four token requests on main, with a realm it
// accepts); the check asks once.
func TestPullCheckOneTokenRequest(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: fakeUsers(), Images: fakeImages, RealmHost: "localhost"})
	image := f.image("priv/app:1")
	err := (verify.Checker{}).PullCheck(ctxT(t), image, basic("robot$none", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonUnauthorized)
	if pe.Stage != verify.StageManifest {
		t.Errorf("Stage = %q", pe.Stage)
	}
	if n := len(f.tokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1: %+v", n, f.tokenRequests())
	}
}

// kubelet tries a credential under each matching key; the check asks the realm
// once per distinct credential (on main: once per key).
func TestPullCheckAsKubeletChecksCredentialOnce(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: fakeUsers(), Images: fakeImages, RealmHost: "localhost"})
	image := f.image("priv/app:1")
	secrets := []corev1.Secret{
		pullSecret(t, "a", f.Host, "robot$priv+pull", wrongPass),
		pullSecret(t, "b", "http://"+f.Host+"/v2/", "robot$priv+pull", wrongPass),
	}
	err := (verify.Checker{}).PullCheckAsKubelet(ctxT(t), image, secrets)
	_ = requirePullError(t, err, image, verify.ReasonUnauthorized)
	if n := f.failedLogins(); n != 1 {
		t.Errorf("%d failed /jwt/auth requests for one credential under two keys, want 1", n)
	}
}

// Once GitLab has banned the address, /jwt/auth answers every login 403 in plain
// text, a good credential's too: that is no refusal of the credential (a rotation
// would revoke a good new token), and PullCheckFresh does not try again. On main
// (with a realm it accepts) the check reports ReasonDenied, CredentialRefused.
func TestPullCheckGitLabIPBan(t *testing.T) {
	f := newFakeRegistry(t, fakeOptions{Flavor: gitlabFlavor, Users: fakeUsers(), Images: fakeImages, RealmHost: "localhost", BanAfter: 1})
	image := f.image("priv/app:1")
	var waits []time.Duration
	c := verify.Checker{Sleep: recordingSleep(&waits, nil)}
	_ = requirePullError(t, c.PullCheck(ctxT(t), image, basic("robot$priv+pull", wrongPass)), image, verify.ReasonUnauthorized)

	err := c.PullCheckFresh(ctxT(t), image, basic("robot$priv+pull", goodPass))
	pe := requirePullError(t, err, image, verify.ReasonOther)
	if pe.Stage != verify.StageToken || pe.Status != http.StatusForbidden {
		t.Errorf("Stage, Status = %q, %d", pe.Stage, pe.Status)
	}
	for _, want := range []string{"banned", "not a verdict on the credential", "trusted IPs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if verify.CredentialRefused(err) || verify.Authorised(err) || len(waits) != 0 {
		t.Errorf("refused %v, authorised %v, waits %v", verify.CredentialRefused(err), verify.Authorised(err), waits)
	}
}
