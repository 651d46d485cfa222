package verify

import (
	"fmt"
	"net/http"
	"strings"
)

// Reason classifies a failed pull check.
type Reason string

// The reasons a pull check fails.
const (
	// ReasonUnauthorized: the credential was refused. At the token endpoint (Stage
	// StageToken): a 401 (wrong, revoked or deleted), or an anonymous token, Harbor's
	// 200 to a credential it does not accept, which would pull a public project
	// (caught by a 401 to the token request without a scope, or errors.Is
	// ErrAnonymousToken for a token whose subject is the empty string). At the manifest request
	// (StageManifest): a 401 to a token issued without access.
	ReasonUnauthorized Reason = "Unauthorized"
	// ReasonDenied: 403 or DENIED. The credential is valid but may not pull this repository.
	ReasonDenied Reason = "Denied"
	// ReasonNotFound: 404, MANIFEST_UNKNOWN or NAME_UNKNOWN. Repository or tag missing.
	ReasonNotFound Reason = "NotFound"
	// ReasonPolicy: 412 PROJECTPOLICYVIOLATION at the manifest request (a bare 412
	// to HEAD, which has no body). Harbor answers so after authorising the pull,
	// when the project requires a signature (cosign, notation) or prevents pulling
	// vulnerable images: the credential is proven, the image is refused.
	ReasonPolicy Reason = "Policy"
	// ReasonTLS: certificate verification failed, or https met a plain-http registry.
	ReasonTLS Reason = "TLS"
	// ReasonNetwork: name resolution or connection failure.
	ReasonNetwork Reason = "Network"
	// ReasonTimeout: the check's deadline (Checker.Timeout or the context's) ended
	// it, or a connection timed out: the registry is unreachable or stalled. Says
	// nothing about the credential.
	ReasonTimeout Reason = "Timeout"
	// ReasonRealmRefused: the check refused to send the credential to the token
	// realm the registry named (an http realm for a registry reached over https, a
	// link-local address, a redirect to another host); not a credential problem.
	ReasonRealmRefused Reason = "RealmRefused"
	// ReasonNoMatchingKey: no key of the pull secrets matches the image (kubelet would
	// pull anonymously).
	ReasonNoMatchingKey Reason = "NoMatchingKey"
	// ReasonInvalidSecret: a pull secret is one kubelet refuses as a whole (malformed
	// JSON, undecodable auth field), which fails every pull of the pod.
	ReasonInvalidSecret Reason = "InvalidSecret"
	// ReasonOther: anything else; Detail has the registry's answer.
	ReasonOther Reason = "Other"
)

// Stage is the request of the pull protocol that failed.
type Stage string

// The stages of a pull check, in the order they happen.
const (
	StageNone     Stage = ""         // before any request, or not known
	StagePing     Stage = "ping"     // GET /v2/, which yields the auth challenge
	StageToken    Stage = "token"    // the token request at the realm, with the basic credential
	StageManifest Stage = "manifest" // HEAD or GET /v2/<repo>/manifests/<ref> with the token
)

// PullError is the typed failure of a pull check. Its text names the image, the
// registry and the registry's answer, never the password or a token: Detail is
// scrubbed of the credential's secrets and the tokens received before it is stored.
type PullError struct {
	Image    string // the image as given
	Registry string // registry host[:port] the check talked to
	Reason   Reason
	Stage    Stage
	Status   int    // HTTP status of the failing answer, 0 when there was none
	Detail   string // the registry's (or the network's) answer, scrubbed
	// Identity is whom the token service authenticated the credential as (the
	// subject of its token), when the check got that far and the token names one.
	Identity string
	// Key and Source name the pull secret entry used (PullCheckAsKubelet only):
	// the auths key as written and the "namespace/name" of its Secret.
	Key    string
	Source string
	// Err is the underlying error, for errors.As (e.g. *transport.Error). Its own
	// text is not scrubbed; print the PullError, not Err.
	Err error
}

// Error implements error.
func (e *PullError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pull check of %q", e.Image)
	if e.Registry != "" {
		fmt.Fprintf(&b, " on %s", e.Registry)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, " with key %q", e.Key)
		if e.Source != "" {
			fmt.Fprintf(&b, " of secret %s", e.Source)
		}
	}
	fmt.Fprintf(&b, " failed: %s", e.Reason)
	if x := e.explain(); x != "" {
		b.WriteString(": " + x)
	}
	if e.Detail != "" {
		if e.Status != 0 {
			fmt.Fprintf(&b, "; registry answered HTTP %d: %s", e.Status, e.Detail)
		} else {
			b.WriteString("; " + e.Detail)
		}
	}
	if e.Identity != "" {
		fmt.Fprintf(&b, " (the token service authenticated the credential as %q)", e.Identity)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *PullError) Unwrap() error { return e.Err }

// realmPrivateText explains go-containerregistry's realm check, which only an
// identity-token credential still meets (this package exchanges the others
// itself and accepts such a realm), and users easily mistake for a bad credential.
const realmPrivateText = "the registry's token realm is on a private or loopback IP literal, " +
	"which go-containerregistry refuses (a guard against request forgery) unless the realm " +
	"has the registry's own host:port; the credential was never sent, so this is not a bad " +
	"credential, and kubelet may pull fine; fix: serve the token realm under a host name, " +
	"or on the registry's own host:port (as Harbor does)"

// realmLinkLocalText explains the refusal of a realm where no token service lives.
const realmLinkLocalText = "the registry's token realm is on a link-local or unspecified address, where " +
	"no token service lives but a cloud metadata service does (169.254.169.254): the check refuses to " +
	"send the credential there (a guard against request forgery by a hostile registry); this is not a " +
	"bad credential; fix: serve the token realm under a host name or a routable address"

// realmSchemeText explains the refusal of an http realm for an https registry.
const realmSchemeText = "the registry's token realm uses http while the registry is reached " +
	"over https, so the credential would travel in clear: the check does not send it; " +
	"this is not a bad credential; fix: serve the token realm over https " +
	"(or set Checker.Insecure for a registry on a trusted network)"

// realmRedirectText explains the refusal of a token service's redirect.
const realmRedirectText = "the token service redirected the token request to another host, or from https " +
	"to http; the check sends the credential only to the realm the registry named; this is not a bad " +
	"credential; fix: announce the final token URL as the realm"

func (e *PullError) explain() string {
	switch e.Reason {
	case ReasonUnauthorized:
		if e.Stage == StageManifest && e.Identity != "" {
			return "the credential authenticated, but the token it got carries no pull access to this repository: " +
				"the robot or token lacks pull permission (GitLab: read_registry) on this project"
		}
		if e.Stage == StageManifest {
			return "the registry refused the credential for the manifest (with a token service: a token was issued " +
				"but carries no access): the credential is expired or revoked, or lacks pull access to this repository"
		}
		return "the registry's token service did not accept the username/password (wrong, revoked, deleted, disabled or expired credential)"
	case ReasonDenied:
		return "the credential is valid but has no pull permission for this repository"
	case ReasonNotFound:
		return "the repository or tag does not exist, or is hidden from this credential"
	case ReasonPolicy:
		return "the credential authenticated and was authorised to pull, but the project's policy refuses this image " +
			"(Harbor: a cosign or notation signature is required, or vulnerable images may not be pulled); " +
			"not a credential failure, but pods pulling this image fail the same way until it satisfies the policy"
	case ReasonTLS:
		return "TLS failed: trust the registry's CA in the checker's transport, or set Insecure for a plain-http registry"
	case ReasonNetwork:
		return "the registry could not be reached"
	case ReasonTimeout:
		return "the registry did not answer in time (unreachable or stalled); this says nothing about the credential"
	case ReasonRealmRefused:
		switch {
		case strings.Contains(e.Detail, "redirect"):
			return realmRedirectText
		case strings.Contains(e.Detail, "scheme"):
			return realmSchemeText
		case strings.Contains(e.Detail, "private or link-local"):
			return realmPrivateText
		}
		return realmLinkLocalText
	case ReasonOther:
		if e.Stage == StagePing && e.Status != 0 {
			return "the registry answered the request to /v2/ that starts every pull with an error, before any " +
				"credential was sent: not a credential failure (a wrong registry address, or a proxy, firewall " +
				"or IP allow-list in front of the registry?)"
		}
		if e.Stage == StageToken && e.Status == http.StatusForbidden {
			return "the token service answered 403 without a registry error: GitLab answers every login so " +
				"from an address it has banned after too many failed logins (self-managed: 30 in 3 minutes, " +
				"banned for an hour), and proxies and firewalls do the same; not a verdict on the credential; " +
				"fix: wait for the ban to end, or add this address to GitLab's trusted IPs (rack_attack ip_whitelist)"
		}
	case ReasonNoMatchingKey:
		return "no pull secret key matches the image's registry, so kubelet would pull anonymously"
	case ReasonInvalidSecret:
		return "kubelet refuses this pull secret as a whole, which fails every pull of the pod"
	}
	return ""
}
