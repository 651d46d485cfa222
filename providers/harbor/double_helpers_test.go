package harbor

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// sharedClock is the one clock of a test's double and provider: the double's failed-login
// sleep and the provider's retry sleep both advance it, so Harbor's 1.5 s lock plays out
// without real sleeping.
type sharedClock struct {
	mu sync.Mutex
	t  time.Time
	// frozen makes sleeps not advance the clock: a lock then lasts.
	frozen bool
}

func (c *sharedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *sharedClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen {
		c.t = c.t.Add(d)
	}
}

// testIssuer is one token issuer for the test binary: an RSA key takes a while to make.
var testIssuer = sync.OnceValue(func() *registrytoken.Issuer {
	iss, err := registrytoken.NewIssuer("harbor-token-issuer", "harbor-registry")
	if err != nil {
		panic(err)
	}
	return iss
})

// doubleRig is a Harbor double and a provider on it, sharing a clock.
type doubleRig struct {
	double *harbordouble.Server
	url    string
	clock  *sharedClock
	sleeps *sleeps
	// serverSleeps records the double's failed-login sleeps.
	serverSleeps *sleeps
}

// newDoubleRig starts a double with projects team-a and team-b, edited by edit.
func newDoubleRig(t *testing.T, edit func(*harbordouble.Options)) *doubleRig {
	t.Helper()
	r := &doubleRig{clock: &sharedClock{t: fakeNow}, sleeps: &sleeps{}, serverSleeps: &sleeps{}}
	o := harbordouble.Options{
		AdminUsername: fakeUser, AdminPassword: fakePassword,
		Projects: []string{"team-a", "team-b"},
		Issuer:   testIssuer(),
		Now:      r.clock.now,
		Sleep: func(d time.Duration) {
			_ = r.serverSleeps.sleep(context.Background(), d)
			r.clock.advance(d)
		},
	}
	if edit != nil {
		edit(&o)
	}
	d, err := harbordouble.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	r.double, r.url = d, srv.URL
	return r
}

// provider returns a provider on the double as user/password (the admin when empty).
func (r *doubleRig) provider(t *testing.T, user, password string) *Provider {
	t.Helper()
	if user == "" {
		user, password = fakeUser, fakePassword
	}
	p, err := New(Options{URL: r.url, Username: user, Password: password, Now: r.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	p.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		_ = r.sleeps.sleep(ctx, d)
		r.clock.advance(d)
		return nil
	}
	return p
}

// robotModel is go-client's robot, shortened for tables.
type robotModel = models.Robot

func projectRobotModel(name, ns string) *robotModel {
	return &robotModel{Level: levelProject, Name: name, Permissions: []*models.RobotPermission{{
		Kind: "project", Namespace: ns, Access: []*models.Access{{Resource: "repository", Action: "pull"}},
	}}}
}
