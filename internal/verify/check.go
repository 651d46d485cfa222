package verify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Checker runs pull checks. The zero value checks https registries (and loopback
// ones over http, as go-containerregistry does) with remote.DefaultTransport.
//
// Requests are retried on temporary failures (5xx, 429, resets; up to 3 tries,
// 1 s then 3 s apart, as go-containerregistry does) within the check's deadline
// (Timeout, or the context's when that is sooner). A refusal (401, 403) is never
// retried: GitLab counts failed /jwt/auth requests toward its IP ban, and Harbor
// locks a username for 1.5 s after a failed login. PullCheckFresh is the one
// deliberate second try, for a credential issued a moment ago.
type Checker struct {
	// Transport carries every request; nil means remote.DefaultTransport. Give one
	// whose TLS configuration trusts the registry's CA when that is private.
	Transport http.RoundTripper
	// Insecure allows plain http for a registry that is not on loopback
	// (go-containerregistry already does so for localhost, 127.0.0.1, ::1, *.local
	// and RFC 1918 addresses), and an http token realm for a registry reached over
	// https, which sends the password in clear.
	Insecure bool
	// UserAgent is put in front of go-containerregistry's User-Agent.
	UserAgent string
	// Timeout bounds each PullCheck and PullCheckAsKubelet call as a whole (each
	// of the two checks of PullCheckFresh); zero means DefaultTimeout. A check that
	// runs out of it fails with ReasonTimeout.
	Timeout time.Duration
	// FreshRetryDelay is how long PullCheckFresh waits before it checks a newly
	// issued credential a second time after the registry refused it with 401
	// (replica lag: GitLab may answer /jwt/auth from a replica that has not seen
	// the token yet). Zero means DefaultFreshRetryDelay; negative means no second
	// check.
	FreshRetryDelay time.Duration
	// Sleep waits for d, or until ctx ends and then returns its error. Nil means a
	// real timer; tests inject one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultTimeout is the deadline of a check when Checker.Timeout is zero. Without
// one, a registry that accepts the connection and never answers holds the check
// (and the rotation waiting for it) forever: the default transport has no
// response-header timeout. 30 s leaves room for the retries of a slow registry.
const DefaultTimeout = 30 * time.Second

// timeout returns the deadline of one check.
func (c Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// errCheckTimeout is the cause of a check's own deadline, to tell it from the
// caller's in the error text.
type errCheckTimeout struct{ d time.Duration }

func (e errCheckTimeout) Error() string {
	return fmt.Sprintf("no answer within the check's %v deadline (Checker.Timeout)", e.d)
}

// Unwrap keeps errors.Is(err, context.DeadlineExceeded) true: net/http reports a
// context's cause, not its Err, when the context ends a request.
func (e errCheckTimeout) Unwrap() error { return context.DeadlineExceeded }

// withTimeout derives the context of one check.
func (c Checker) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.timeout()
	return context.WithTimeoutCause(ctx, d, errCheckTimeout{d})
}

// noteTimeout says in pe's Detail whose deadline ended the check, when it was the
// check's own and the error text does not say so yet (net/http puts the cause in
// its text; a layer that reports ctx.Err() says only "context deadline exceeded").
func noteTimeout(ctx context.Context, pe *PullError) {
	var te errCheckTimeout
	if pe.Reason == ReasonTimeout && errors.As(context.Cause(ctx), &te) && !strings.Contains(pe.Detail, te.Error()) {
		pe.Detail += " (" + te.Error() + ")"
	}
}

// PullCheck proves that auth authenticates at the registry of image and can pull
// it: it asks the registry for its auth challenge (GET /v2/), does the token
// exchange itself and requests image's manifest with the token (HEAD, then GET
// when HEAD fails). A nil auth (or authn.Anonymous) means anonymous: then only the
// pull is checked.
//
// A pull alone does not prove a credential: Harbor's token service answers a
// wrong, deleted, disabled or expired credential with an anonymous token (200,
// no subject), and on a public project that token pulls. So with a Bearer
// challenge the token must name whom it was issued to: a JWT's "sub" claim, or
// GitLab's "user" claim (GitLab omits "sub" for deploy tokens). A token that
// names nobody for certain (opaque, no subject) is backed by a second token
// request without a scope, which Harbor and GitLab refuse (401) to a credential
// they do not accept; a JWT whose "sub" is the empty string fails at once. Either
// failure is ReasonUnauthorized at StageToken. With a Basic challenge the pull
// with the credential is the proof.
//
// The credential is sent to the realm of the registry's own challenge and to the
// registry, nowhere else: a realm on a link-local address, an http realm for a
// registry reached over https (unless c.Insecure), or a token-service redirect to
// another host or from https to http is refused with ReasonRealmRefused before the
// credential is sent. A realm on another host:port, a private or loopback IP
// literal included (GitLab's /jwt/auth), is fine.
//
// One check sends at most two token requests (the second only for an opaque or
// subject-less token) and never repeats a refused one; temporary failures (5xx,
// 429, resets) are retried as go-containerregistry does.
//
// It returns nil on success and otherwise a *PullError (errors.As), whose Reason
// says what went wrong and whose text never contains the password or the token.
// The check takes at most c.Timeout (DefaultTimeout when zero).
func (c Checker) PullCheck(ctx context.Context, image string, auth authn.Authenticator) error {
	tctx, cancel := c.withTimeout(ctx)
	defer cancel()
	err := c.pullCheck(tctx, image, auth)
	if pe := (*PullError)(nil); errors.As(err, &pe) {
		noteTimeout(tctx, pe)
	}
	return err
}

// pullCheck is PullCheck without its own deadline.
func (c Checker) pullCheck(ctx context.Context, image string, auth authn.Authenticator) error {
	var nameOpts []name.Option
	if c.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.ParseReference(image, nameOpts...)
	if err != nil {
		return &PullError{Image: image, Reason: ReasonOther, Detail: "invalid image reference: " + err.Error(), Err: err}
	}
	cred, err := credentialOf(ctx, auth)
	if err != nil {
		return &PullError{Image: image, Registry: ref.Context().RegistryStr(), Reason: ReasonOther,
			Detail: "reading the credential: " + err.Error(), Err: err}
	}
	if cred.identityToken {
		// An OAuth refresh token (docker login to some cloud registries): leave the
		// token exchange to go-containerregistry, which speaks that flow.
		return c.pullCheckRemote(ctx, image, ref, auth)
	}
	s := &session{c: c, ref: ref, rt: c.roundTripper(), cred: cred}
	err = s.run(ctx)
	if err == nil {
		return nil
	}
	pe := (*PullError)(nil)
	if !errors.As(err, &pe) {
		pe = &PullError{}
		classify(pe, err)
	}
	pe.Image, pe.Registry, pe.Identity = image, ref.Context().RegistryStr(), s.identity
	pe.Detail = scrub(pe.Detail, append(secretsOf(ctx, auth), s.tokens...))
	return pe
}

// pullCheckRemote is the check through go-containerregistry's own token exchange,
// for credentials this package does not exchange itself (identity tokens). It
// proves the pull only.
func (c Checker) pullCheckRemote(ctx context.Context, image string, ref name.Reference, auth authn.Authenticator) error {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	if c.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.UserAgent))
	}

	_, err := remote.Head(ref, opts...)
	if err != nil && failedAtHead(err) {
		// HEAD answers have no body, and some registries or proxies refuse HEAD
		// (405): GET both gets past them and brings the registry's error code and
		// message. Only when HEAD itself failed: a refused token would be refused again.
		_, err = remote.Get(ref, opts...)
	}
	if err == nil {
		return nil
	}
	pe := &PullError{Image: image, Registry: ref.Context().RegistryStr()}
	classify(pe, err)
	pe.Detail = scrub(pe.Detail, secretsOf(ctx, auth))
	return pe
}

// failedAtHead reports whether err is the registry's answer to the manifest HEAD.
func failedAtHead(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.Request != nil && terr.Request.Method == http.MethodHead
}

// secretsOf returns the values of auth that must never appear in a message.
func secretsOf(ctx context.Context, auth authn.Authenticator) []string {
	if auth == nil {
		return nil
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil || cfg == nil {
		return nil
	}
	var out []string
	for _, s := range []string{cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	if cfg.Password != "" {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	}
	if dec, err := base64.StdEncoding.DecodeString(cfg.Auth); err == nil {
		if _, pass, ok := strings.Cut(string(dec), ":"); ok && pass != "" {
			out = append(out, pass)
		}
	}
	return out
}

// scrub replaces every occurrence of the secrets in s. Registries do not echo
// passwords, but a misbehaving proxy or token service might, and the text of a
// PullError ends up in logs and Kubernetes Events.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}
