//go:build integration

package secretsource

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// testClock is a settable clock for token lifetimes and login spacing.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(c *testClock) func(*Options) { return func(o *Options) { o.Now = c.now } }

// A valid token refused by its policy (403) is not a reason to log in again: each login may use
// up a use of the AppRole secret-id, and the new token would be refused the same way.
func TestPolicyDenialDoesNotLogInAgain(t *testing.T) {
	ctx := context.Background()
	putKV(t, "elsewhere/x", map[string]any{"password": "not-for-the-reader"})
	v, logs := newVault(t, srv.Addr, appRole(t, "policy403", map[string]any{"token_ttl": "1h"}), nil)
	ref := config.VaultRef{Mount: "secret", Path: "elsewhere/x", Key: "password"}
	for range 3 {
		_, err := v.ReadKV(ctx, ref)
		wantKind(t, err, ErrPermissionDenied, []string{`"elsewhere/x"`})
	}
	if n := logs.count("logged in to Vault"); n != 1 {
		t.Fatalf("a policy denial made the client log in again: %d logins\n%s", n, logs)
	}
}

// When Vault keeps refusing fresh tokens (a leak response revoking every token of the role
// again and again), new logins are spaced out instead of following each request.
func TestReloginsAreSpacedOut(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/spaced", map[string]any{"password": "spaced-value"})
	clk := &testClock{t: time.Now()}
	v, logs := newVault(t, srv.Addr, appRole(t, "spaced", map[string]any{"token_ttl": "1h"}), nil, withClock(clk))
	ref := config.VaultRef{Mount: "secret", Path: "ss/spaced", Key: "password"}
	revokeAll := func() {
		t.Helper()
		if err := root(t).Sys().RevokePrefixWithContext(ctx, "auth/approle/login"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.ReadKV(ctx, ref); err != nil {
		t.Fatal(err)
	}
	revokeAll()
	if _, err := v.ReadKV(ctx, ref); err != nil { // the first new login is at once
		t.Fatalf("after one revocation: %v\n%s", err, logs)
	}
	revokeAll()
	_, err := v.ReadKV(ctx, ref)
	wantKind(t, err, ErrLogin, []string{"not before", "secret-id"})
	if n := logs.count("logged in to Vault"); n != 2 {
		t.Fatalf("want 2 logins while spaced out, got %d\n%s", n, logs)
	}
	clk.add(reloginFirstBackoff + time.Second)
	if got, err := v.ReadKV(ctx, ref); err != nil || got != "spaced-value" {
		t.Fatalf("after the back-off: %q %v\n%s", got, err, logs)
	}
}

// A token replaced by a new login (here: near its expiry) is revoked, so no valid token the
// rotator no longer uses stays behind.
func TestReplacedTokenIsRevoked(t *testing.T) {
	ctx := context.Background()
	putKV(t, "ss/replaced", map[string]any{"password": "replaced-value"})
	clk := &testClock{t: time.Now()}
	v, logs := newVault(t, srv.Addr, appRole(t, "replaced", map[string]any{"token_ttl": "1h"}), nil, withClock(clk))
	ref := config.VaultRef{Mount: "secret", Path: "ss/replaced", Key: "password"}
	if _, err := v.ReadKV(ctx, ref); err != nil {
		t.Fatal(err)
	}
	old := v.currentToken()
	clk.add(time.Hour) // past its TTL on the client's clock: the next read logs in again
	if _, err := v.ReadKV(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if v.currentToken() == old {
		t.Fatalf("the token was not replaced\n%s", logs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := root(t).Auth().Token().LookupWithContext(ctx, old)
		if err != nil && strings.Contains(err.Error(), "bad token") || err != nil && strings.Contains(err.Error(), "403") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replaced token is still valid (lookup: %v)\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
