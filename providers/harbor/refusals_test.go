package harbor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/providers"
)

// A read-only Harbor refuses every write with 403 DENIED: the error says so, not "permission".
func TestReadOnlyHarbor(t *testing.T) {
	rig := newDoubleRig(t, func(o *harbordouble.Options) { o.ReadOnly = true })
	p := rig.provider(t, "", "")
	_, err := p.Issue(context.Background(), testSpec("team-a"))
	if !errors.Is(err, ErrReadOnly) || !errors.Is(err, providers.ErrForbidden) ||
		!strings.Contains(err.Error(), "read-only mode") || strings.Contains(err.Error(), "project admin role") {
		t.Fatalf("Issue on a read-only Harbor = %v, want ErrReadOnly saying read-only mode", err)
	}
}

// An OIDC Harbor answers an OIDC user's basic auth on the API 401, at once: the error says to
// use the local admin or a robot, and the provider does not hammer the login.
func TestOIDCHarbor(t *testing.T) {
	rig := newDoubleRig(t, func(o *harbordouble.Options) {
		o.AuthMode = "oidc_auth"
		o.Users = []harbordouble.User{{Name: "alice", Password: "Cli-Secret-1", SystemAdmin: true}}
	})
	_, err := rig.provider(t, "alice", "Cli-Secret-1").Issue(context.Background(), testSpec("team-a"))
	if !errors.Is(err, ErrOIDCBasicAuth) || !errors.Is(err, providers.ErrAuth) || !strings.Contains(err.Error(), "local admin") {
		t.Fatalf("Issue as an OIDC user = %v, want ErrOIDCBasicAuth", err)
	}
	// The local admin still works in OIDC mode.
	if _, err := rig.provider(t, "", "").Issue(context.Background(), testSpec("team-a")); err != nil {
		t.Fatalf("Issue as the local admin on an OIDC Harbor: %v", err)
	}
}

// Harbor locks a name for 1.5 s after a failed login, against the right password too. A quick
// 401 is retried once after the lock; a lock that lasts is reported as the lock; a wrong
// password (answered after Harbor's 1.5 s sleep) is reported as such and not retried.
func TestLoginLock(t *testing.T) {
	failLogin := func(t *testing.T, rig *doubleRig) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, rig.url+"/api/v2.0/projects/team-a", nil)
		req.SetBasicAuth(fakeUser, "Wrong-Password-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}

	t.Run("lock ends", func(t *testing.T) {
		rig := newDoubleRig(t, nil)
		// Another client's failed login: the double stamps the lock, then "sleeps" (the frozen
		// clock plays a provider request arriving during that sleep).
		rig.clock.frozen = true
		failLogin(t, rig)
		rig.clock.frozen = false
		p := rig.provider(t, "", "")
		if _, err := p.Issue(context.Background(), testSpec("team-a")); err != nil {
			t.Fatalf("Issue right after another client's failed login: %v", err)
		}
		if got := rig.sleeps.got(); len(got) != 1 || got[0] < failedLoginDelay {
			t.Fatalf("provider sleeps = %v, want one wait for the lock", got)
		}
	})
	t.Run("lock lasts", func(t *testing.T) {
		rig := newDoubleRig(t, nil)
		rig.clock.frozen = true
		failLogin(t, rig)
		p := rig.provider(t, "", "")
		_, err := p.Issue(context.Background(), testSpec("team-a"))
		if !errors.Is(err, ErrLoginLocked) || !errors.Is(err, providers.ErrAuth) {
			t.Fatalf("Issue while locked = %v, want ErrLoginLocked", err)
		}
		if got := rig.sleeps.got(); len(got) != 1 {
			t.Fatalf("provider sleeps = %v, want exactly one retry", got)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		rig := newDoubleRig(t, nil)
		p := rig.provider(t, fakeUser, "Wrong-Password-1")
		_, err := p.Issue(context.Background(), testSpec("team-a"))
		if !errors.Is(err, providers.ErrAuth) || errors.Is(err, ErrLoginLocked) || errors.Is(err, ErrOIDCBasicAuth) ||
			!strings.Contains(err.Error(), "check the username and password") {
			t.Fatalf("Issue with a wrong password = %v", err)
		}
		if got := rig.sleeps.got(); len(got) != 0 {
			t.Fatalf("provider sleeps = %v: a wrong password must not be retried (each try locks the name again)", got)
		}
		if got := rig.serverSleeps.got(); len(got) != 1 || got[0] != 1500*time.Millisecond {
			t.Fatalf("failed logins at the double = %v, want one", got)
		}
	})
}
