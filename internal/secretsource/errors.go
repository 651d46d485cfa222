package secretsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/hashicorp/vault/api"
)

// Kinds of Vault failure a caller (or a test) branches on with errors.Is. Every *Error wraps one.
var (
	// ErrUnreachable: no answer from Vault (refused, DNS, timeout).
	ErrUnreachable = errors.New("Vault is unreachable")
	// ErrTLS: Vault's certificate is not trusted or not valid for its address.
	ErrTLS = errors.New("Vault's TLS certificate is not trusted") //nolint:staticcheck // ST1005: Vault is a name
	// ErrSealed: Vault answered 503 "Vault is sealed".
	ErrSealed = errors.New("Vault is sealed")
	// ErrPermissionDenied: the token's policies do not allow the operation on the path.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotFound: no secret (or no secrets engine) at the path.
	ErrNotFound = errors.New("no secret at this path")
	// ErrVersionNotFound: the pinned version does not exist, or was deleted or destroyed.
	ErrVersionNotFound = errors.New("no such version")
	// ErrKeyNotFound: the secret exists but has no such key (or the key holds no string).
	ErrKeyNotFound = errors.New("no such key")
	// ErrNotKVv2: the mount is KV version 1, or not a KV secrets engine at all.
	ErrNotKVv2 = errors.New("not a KV version 2 mount")
	// ErrTokenExpired: the token has expired or was revoked and no new one can be had.
	ErrTokenExpired = errors.New("the Vault token has expired or was revoked")
	// ErrLogin: the login itself failed (wrong role, secret id, ServiceAccount token...).
	ErrLogin = errors.New("Vault login failed")
	// ErrVault: any other answer from Vault.
	ErrVault = errors.New("Vault refused the request")
)

// Error is a failed Vault operation. It names what was read or written (mount, path, key,
// version), what went wrong and how to fix it; it never holds a secret value or a token.
type Error struct {
	Kind error
	// Op is "read", "write" or "log in".
	Op string
	// Purpose is, for a login, the operation it was needed for ("read", "write").
	Purpose string
	// Auth is, for a login, the auth method's path (auth/approle, auth/token).
	Auth string
	// Mount and Path locate the secret (Path below Mount); with Mount empty, Path is the path as
	// configured, not yet resolved to a mount.
	Mount, Path string
	Key         string
	Version     int
	// Detail is what Vault (or the network) said.
	Detail string
	// Fix says what to do about it.
	Fix string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("vault: ")
	secret := e.secret()
	if e.Op == "log in" {
		b.WriteString("log in")
		if e.Auth != "" {
			b.WriteString(" at " + e.Auth)
		}
		if secret != "" && e.Purpose != "" {
			b.WriteString(" to " + e.Purpose + " " + secret)
		}
	} else {
		b.WriteString(e.Op + " " + secret)
	}
	b.WriteString(": " + e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(" (" + e.Detail + ")")
	}
	if e.Fix != "" {
		b.WriteString(": " + e.Fix)
	}
	return b.String()
}

// secret names the secret: key "password" in mount "secret" at path "rotator/harbor", version 3.
func (e *Error) secret() string {
	var parts []string
	if e.Key != "" {
		parts = append(parts, fmt.Sprintf("key %q", e.Key))
	}
	switch {
	case e.Mount != "":
		parts = append(parts, fmt.Sprintf("in mount %q at path %q", e.Mount, e.Path))
	case e.Path != "":
		parts = append(parts, fmt.Sprintf("at path %q", e.Path))
	}
	s := strings.Join(parts, " ")
	if e.Version > 0 {
		s += fmt.Sprintf(", version %d", e.Version)
	}
	return s
}

// Unwrap returns the kind only: the cause (a net error, say) is in Detail, so that a caller's
// retry logic keyed on network errors does not mistake a Vault failure for its own.
func (e *Error) Unwrap() error { return e.Kind }

var multierrorHead = regexp.MustCompile(`^\d+ errors? occurred: \* `)

// classify maps an error of the Vault client to a kind and Vault's own words.
//
//nolint:staticcheck // ST1008: kind is a sentinel value for the caller to keep, not a failure of classify
func classify(err error) (kind error, detail string) {
	var re *api.ResponseError
	if errors.As(err, &re) {
		msgs := make([]string, 0, len(re.Errors))
		for _, m := range re.Errors {
			// Vault wraps messages in multierror formatting ("2 errors occurred:\n\t* a\n\t* b").
			m = multierrorHead.ReplaceAllString(strings.Join(strings.Fields(m), " "), "")
			msgs = append(msgs, strings.ReplaceAll(m, " * ", "; "))
		}
		detail = fmt.Sprintf("%d %s", re.StatusCode, http.StatusText(re.StatusCode))
		if len(msgs) > 0 {
			detail += ": " + strings.Join(msgs, "; ")
		}
		switch {
		case re.StatusCode == http.StatusServiceUnavailable && strings.Contains(strings.ToLower(detail), "sealed"):
			return ErrSealed, detail
		case re.StatusCode == http.StatusForbidden:
			return ErrPermissionDenied, detail
		case re.StatusCode == http.StatusNotFound:
			return ErrNotFound, detail
		}
		return ErrVault, detail
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalidCert      x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		netErr           net.Error
	)
	switch {
	case errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalidCert) || errors.As(err, &verification):
		return ErrTLS, err.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr):
		return ErrUnreachable, err.Error()
	case strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host"):
		// retryablehttp may flatten the network error into its "giving up" message.
		return ErrUnreachable, err.Error()
	}
	return ErrVault, err.Error()
}

func isForbidden(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}

// fixFor is the generic advice for a kind; callers override it where they know better.
func fixFor(kind error, address string) string {
	switch {
	case errors.Is(kind, ErrUnreachable):
		return "check vault.address (" + address + "), that Vault is running, and the network path (proxy, firewall)"
	case errors.Is(kind, ErrTLS):
		return "set vault.caFile to the CA bundle that signed Vault's certificate, and use the host name the certificate names"
	case errors.Is(kind, ErrSealed):
		return "unseal Vault (vault operator unseal) or point vault.address at an unsealed node"
	}
	return ""
}
