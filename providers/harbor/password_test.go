package harbor

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/providers"
)

// PasswordFunc is asked at every request: a password changed at its source (and at Harbor) is
// used by the next call, and a failure to read it is reported as such, not as Harbor's.
func TestPasswordFuncIsReadAtEveryRequest(t *testing.T) {
	clock := &sharedClock{t: fakeNow}
	double, err := harbordouble.New(harbordouble.Options{AdminUsername: fakeUser, AdminPassword: fakePassword,
		Projects: []string{"team-a"}, Issuer: testIssuer(), Now: clock.now, Sleep: clock.advance})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(double)
	defer srv.Close()

	var mu sync.Mutex
	current, readErr := fakePassword, error(nil)
	set := func(pw string, err error) { mu.Lock(); current, readErr = pw, err; mu.Unlock() }
	p, err := New(Options{URL: srv.URL, Username: fakeUser, Now: clock.now, PasswordFunc: func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return current, readErr
	}})
	if err != nil {
		t.Fatal(err)
	}
	p.retry.Sleep = (&sleeps{}).sleep
	ctx := context.Background()
	spec := testSpec("team-a")
	if _, err := p.List(ctx, spec); err != nil {
		t.Fatalf("with the right password: %v", err)
	}

	double.SetAdminPassword("changed-at-harbor")
	if _, err := p.List(ctx, spec); !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("the old password must be refused: %v", err)
	}
	set("changed-at-harbor", nil)
	if _, err := p.List(ctx, spec); err != nil {
		t.Fatalf("the changed password must be used by the next call: %v", err)
	}

	// A source that cannot be read: named as such, not as "Harbor refused the connection" even
	// when the cause is a refused connection (to Vault), and not retried as Harbor's.
	set("", errors.New("vault: read key \"password\": Vault is unreachable"))
	_, err = p.List(ctx, spec)
	var pe *PasswordError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "read the Harbor password: vault:") || strings.Contains(err.Error(), "Harbor at") {
		t.Fatalf("want the password source's error, got %v", err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, providers.ErrAuth) {
		t.Fatalf("must not read as a network or auth failure of Harbor: %v", err)
	}
}
