package secretsource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"

	"github.com/rotatorhq/rotator/internal/config"
)

// requestTimeout bounds one Vault request: the client's own default (60 s) would hold a
// rotation for a minute per request against a Vault that accepts connections and never answers.
const requestTimeout = 30 * time.Second

// Vault reads and writes KV version 2 secrets, logged in with the configured method. It keeps
// its token alive (renewal with api.LifetimeWatcher, or a new login when renewal ends), logs in
// again when a request is refused with 403 and the token itself is no longer valid (revoked) —
// never on a policy denial, and spaced out when Vault keeps refusing fresh tokens — and revokes
// each token a new login replaces. Safe for concurrent use.
type Vault struct {
	address string
	base    *api.Client // holds no token; each session clones it
	method  loginMethod
	log     *slog.Logger
	now     func() time.Time
	// ctx bounds the renewal goroutines; cancel stops them (Close).
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	sess *session
	// lastRelogin and reloginStreak space out logins after refused tokens (relogin.go).
	lastRelogin   time.Time
	reloginStreak int
}

// NewVault builds a client for c. It makes no request: the first read logs in. ctx bounds the
// background token renewal.
func NewVault(ctx context.Context, c *config.Vault, o Options) (*Vault, error) {
	o.defaults()
	tr := cleanhttp.DefaultPooledTransport()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	// The config is built here rather than with api.DefaultConfig, which reads VAULT_* variables
	// (VAULT_SKIP_VERIFY among them): what the rotator trusts is what its config says.
	ac := &api.Config{
		Address:    c.Address,
		HttpClient: &http.Client{Transport: tr},
		Timeout:    requestTimeout,
		MaxRetries: 2,
	}
	// Vault answers redirects itself (standby nodes); the client must see them, not follow them.
	ac.HttpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.CAFile != "" {
		if err := ac.ConfigureTLS(&api.TLSConfig{CACert: c.CAFile}); err != nil {
			return nil, fmt.Errorf("vault.caFile %s: %w: it must be a readable PEM bundle", c.CAFile, err)
		}
	}
	client, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("vault client for %s: %w", c.Address, err)
	}
	// api.NewClient picks up VAULT_TOKEN and VAULT_NAMESPACE; only the config decides here.
	client.ClearToken()
	client.ClearNamespace()
	if c.Namespace != "" {
		client.SetNamespace(c.Namespace)
	}
	method, err := newLoginMethod(c.Auth, o.LookupEnv)
	if err != nil {
		return nil, err
	}
	vctx, cancel := context.WithCancel(ctx)
	return &Vault{address: c.Address, base: client, method: method, log: o.Logger.With("component", "vault"),
		now: o.Now, ctx: vctx, cancel: cancel}, nil
}

// Close stops the token renewal. The Vault must not be used afterwards.
func (v *Vault) Close() {
	v.cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sess != nil {
		v.sess.stop()
		v.sess = nil
	}
}

// currentToken is the token in use, "" before the first login (for tests).
func (v *Vault) currentToken() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sess == nil {
		return ""
	}
	return v.sess.token
}

// do runs op with a logged-in client. A 403 may mean the token was revoked or expired behind
// the rotator's back: then (and only then: a valid token's 403 is the policy's answer) it logs
// in again and retries once; a second 403 is a real denial.
func (v *Vault) do(ctx context.Context, op func(*api.Client) error) error {
	s, err := v.session(ctx)
	if err != nil {
		return err
	}
	err = op(s.client)
	if !isForbidden(err) {
		return err
	}
	if valid, cerr := v.tokenValid(ctx, s); valid || cerr != nil {
		return err // the policy denies the path, or Vault cannot tell now: a login would not help
	}
	fresh, lerr := v.relogin(ctx, s)
	if lerr != nil {
		return lerr
	}
	if fresh == s { // the same token, still valid: the path itself is denied
		return err
	}
	return op(fresh.client)
}

// session returns the current session, logging in when there is none or it has run out.
func (v *Vault) session(ctx context.Context) (*session, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sess != nil && v.sess.usable(v.now()) {
		return v.sess, nil
	}
	return v.loginLocked(ctx, v.sess)
}

// relogin replaces old after a 403, unless another request already did.
func (v *Vault) relogin(ctx context.Context, old *session) (*session, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sess != old && v.sess != nil {
		return v.sess, nil
	}
	if ok, next := v.reloginAllowedLocked(v.now()); !ok {
		return nil, v.errReloginBackoff(next)
	}
	return v.loginLocked(ctx, old)
}

// loginLocked logs in and makes the result the current session. The caller holds v.mu.
func (v *Vault) loginLocked(ctx context.Context, old *session) (*session, error) {
	c, err := v.base.Clone()
	if err != nil {
		return nil, err
	}
	// Clone copies the namespace header only when asked to; set it again.
	if ns := v.base.Namespace(); ns != "" {
		c.SetNamespace(ns)
	}
	res, err := v.method.login(ctx, c)
	if err != nil {
		return nil, v.loginError(err)
	}
	if old != nil && res.token == old.token {
		// The token method re-read the same token and Vault still accepts it.
		old.setExpiry(res.expiry(v.now()))
		return old, nil
	}
	c.SetToken(res.token)
	s := newSession(c, res, v.now())
	if old != nil {
		old.stop()
		v.revokeReplaced(ctx, old)
	}
	v.sess = s
	v.log.Info("logged in to Vault", "method", v.method.name(), "ttl", res.ttl.String(), "renewable", res.renewable)
	if res.renewable && res.ttl > 0 {
		v.watch(s, res)
	}
	return s, nil
}

func (v *Vault) loginError(err error) error {
	var ve *Error
	if errors.As(err, &ve) {
		return err
	}
	kind, detail := classify(err)
	e := &Error{Kind: kind, Op: "log in", Auth: v.method.mount(), Detail: detail, Fix: fixFor(kind, v.address)}
	switch {
	case errors.Is(kind, ErrPermissionDenied), errors.Is(kind, ErrNotFound), errors.Is(kind, ErrVault):
		e.Kind = ErrLogin
		e.Fix = v.method.loginFix()
	}
	return e
}
