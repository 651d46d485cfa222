package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// classify fills Reason, Stage, Status and Detail of pe from err, telling the
// stage from the failing request's path.
func classify(pe *PullError, err error) { classifyAt(pe, err, StageNone) }

// classifyAt is classify for a failure of the request of stage (StageNone: tell
// it from the request, as for go-containerregistry's errors).
//
// The order of the checks matters. For a loopback or insecure registry
// go-containerregistry pings over https and http at once and, when both fail,
// returns both errors in one; the more telling one must win: a deadline over
// anything, a certificate failure over the 400 a TLS server gives to plain http,
// and the http attempt's failure over https's "server gave HTTP response to HTTPS
// client", which then only says that the registry speaks http.
func classifyAt(pe *PullError, err error, stage Stage) {
	pe.Err = err
	pe.Detail = err.Error()
	pe.Stage = stage
	var terr *transport.Error
	switch {
	case errors.Is(err, context.Canceled):
		pe.Reason = ReasonOther
	case realmRefused(err):
		pe.Reason = ReasonRealmRefused
		if pe.Stage == StageNone {
			pe.Stage = StagePing
		}
	case isTimeout(err):
		pe.Reason = ReasonTimeout
	case isCertificate(err):
		pe.Reason = ReasonTLS
	case errors.As(err, &terr):
		pe.Status = terr.StatusCode
		if pe.Stage == StageNone {
			pe.Stage = stageOf(terr.Request)
		}
		pe.Reason = reasonOf(terr, pe.Stage)
		pe.Detail = terr.Error()
	case isNetwork(err):
		pe.Reason = ReasonNetwork
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		pe.Reason = ReasonTLS
		pe.Detail += " (the registry speaks plain http)"
	case strings.Contains(err.Error(), "x509: ") || strings.Contains(err.Error(), "tls: "):
		pe.Reason = ReasonTLS
	case strings.Contains(err.Error(), "no token in bearer response"):
		pe.Reason, pe.Stage = ReasonOther, StageToken
		// The token response's body follows that text and may be a token after all.
		pe.Detail = "the token endpoint answered 200 without a token"
	default:
		pe.Reason = ReasonOther
	}
}

// realmRefused recognises a refusal of a token realm: this package's own
// (errRealm), or go-containerregistry's (validateRealmURL in
// pkg/v1/remote/transport/bearer.go), which it reports as plain text only.
func realmRefused(err error) bool {
	if errors.As(err, new(errRealm)) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "invalid realm in www-authenticate") ||
		strings.Contains(s, "refusing token-server redirect")
}

// stageOf tells the ping, the manifest request and the token request apart by path:
// the realm may live on the registry's own host (Harbor's /service/token).
func stageOf(req *http.Request) Stage {
	switch {
	case req == nil || req.URL == nil:
		return StageNone
	case req.URL.Path == "/v2/" || req.URL.Path == "/v2":
		return StagePing
	case strings.Contains(req.URL.Path, "/manifests/"):
		return StageManifest
	default:
		return StageToken
	}
}

// policyViolationCode is Harbor's error code for a pull its project policy
// refuses (src/lib/errors/const.go); go-containerregistry does not know it.
const policyViolationCode transport.ErrorCode = "PROJECTPOLICYVIOLATION"

// reasonOf maps a registry answer to a Reason: the registry's error codes first
// (they are the more precise), then the HTTP status.
func reasonOf(terr *transport.Error, stage Stage) Reason {
	if stage == StagePing {
		// go-containerregistry pings /v2/ without the credential (transport.Ping), and
		// takes a 401 there as the challenge: any failure at the ping, a 403 DENIED
		// of a proxy's IP allow-list say, is no verdict on the credential.
		return ReasonOther
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode:
			return ReasonUnauthorized
		case transport.DeniedErrorCode:
			return ReasonDenied
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return ReasonNotFound
		case policyViolationCode:
			if stage == StageManifest {
				return ReasonPolicy
			}
		}
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		return ReasonUnauthorized
	case http.StatusForbidden:
		if stage == StageToken && len(terr.Errors) == 0 {
			// A token service refuses a credential with its error body; a bare 403
			// (plain text) is GitLab's answer to every login from an address it has
			// banned after too many failures, or a proxy's: no verdict.
			return ReasonOther
		}
		return ReasonDenied
	case http.StatusNotFound:
		// A 404 from /v2/ or from the realm means a wrong URL, not a missing image.
		if stage == StageManifest {
			return ReasonNotFound
		}
	case http.StatusPreconditionFailed:
		// Harbor's policy refusal to a HEAD, which carries no body and so no code.
		// A 412 with another code is something else.
		if stage == StageManifest && len(terr.Errors) == 0 {
			return ReasonPolicy
		}
	}
	return ReasonOther
}

// isCertificate recognises certificate and TLS handshake failures by type.
func isCertificate(err error) bool {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record)
}

// isTimeout recognises a deadline or I/O timeout anywhere in err.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// isNetwork recognises failures to reach the registry at all.
func isNetwork(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.As(err, &op) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
