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
// Requests are retried by go-containerregistry on temporary failures (5xx, 429,
// resets; up to 3 tries, 1 s then 3 s apart) within the check's deadline
// (Timeout, or the context's when that is sooner).
type Checker struct {
	// Transport carries every request; nil means remote.DefaultTransport. Give one
	// whose TLS configuration trusts the registry's CA when that is private.
	Transport http.RoundTripper
	// Insecure allows plain http, and an http token realm, for a registry that is
	// not on loopback (go-containerregistry already does so for localhost,
	// 127.0.0.1, ::1, *.local and RFC 1918 addresses).
	Insecure bool
	// UserAgent is put in front of go-containerregistry's User-Agent.
	UserAgent string
	// Timeout bounds each PullCheck and PullCheckAsKubelet call as a whole; zero
	// means DefaultTimeout. A check that runs out of it fails with ReasonTimeout.
	Timeout time.Duration
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

// PullCheck proves that auth can pull image: it requests image's manifest with
// that credential (HEAD, then GET when HEAD fails), going through the registry's
// token exchange. A nil auth means anonymous.
//
// It returns nil on success and otherwise a *PullError (errors.As), whose Reason
// says what went wrong and whose text never contains the password. The check
// takes at most c.Timeout (DefaultTimeout when zero).
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
	if auth == nil {
		auth = authn.Anonymous
	}
	var nameOpts []name.Option
	if c.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.ParseReference(image, nameOpts...)
	if err != nil {
		return &PullError{Image: image, Reason: ReasonOther, Detail: "invalid image reference: " + err.Error(), Err: err}
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	if c.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.UserAgent))
	}

	_, err = remote.Head(ref, opts...)
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
