package verify

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// credential is what a check sends: a basic credential for the token service (or
// a Basic-challenge registry), a registry token to present as is, or nothing.
type credential struct {
	// basic is the value of an Authorization header "Basic …", or "".
	basic string
	// registryToken is a bearer token the caller already holds (AuthConfig.RegistryToken).
	registryToken string
	// identityToken: the credential is an OAuth refresh token, left to go-containerregistry.
	identityToken bool
}

// anonymous reports whether the check sends no credential at all.
func (c credential) anonymous() bool { return c.basic == "" && c.registryToken == "" }

// credentialOf reads auth the way go-containerregistry's transports do: a registry
// token wins, then username and password, then the pre-encoded auth field.
func credentialOf(ctx context.Context, auth authn.Authenticator) (credential, error) {
	if auth == nil || auth == authn.Anonymous {
		return credential{}, nil
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return credential{}, err
	}
	switch {
	case cfg.IdentityToken != "":
		return credential{identityToken: true}, nil
	case cfg.RegistryToken != "":
		return credential{registryToken: cfg.RegistryToken}, nil
	case cfg.Username != "" && cfg.Password != "":
		return credential{basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))}, nil
	case cfg.Auth != "":
		return credential{basic: "Basic " + cfg.Auth}, nil
	}
	return credential{}, nil
}

// defaultRetryStatusCodes are the answers go-containerregistry retries by default
// (pkg/v1/remote/options.go). 401 and 403 are not among them, and must not be.
var defaultRetryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, 499, 522,
}

// defaultRetryBackoff is go-containerregistry's: three tries, 1 s then 3 s apart.
var defaultRetryBackoff = transport.Backoff{Duration: time.Second, Factor: 3.0, Jitter: 0.1, Steps: 3}

// roundTripper is the transport of every request of a check: the caller's (or
// go-containerregistry's default), retrying temporary failures, with the User-Agent.
func (c Checker) roundTripper() http.RoundTripper {
	base := c.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	rt := transport.NewRetry(base, transport.WithRetryBackoff(defaultRetryBackoff),
		transport.WithRetryPredicate(temporary), transport.WithRetryStatusCodes(defaultRetryStatusCodes...))
	return transport.NewUserAgent(rt, c.UserAgent)
}

// temporary is go-containerregistry's default retry predicate: failures of the
// network and answers it marks temporary, never a deadline.
func temporary(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}
