package verify

import "errors"

// CredentialRefused reports whether err says the registry refused the credential
// itself: a *PullError (also wrapped) with ReasonUnauthorized or ReasonDenied, that
// is 401, 403, UNAUTHORIZED or DENIED at the token request or the manifest request,
// a token issued without the requested access, or an anonymous token issued for
// the credential (Harbor's 200 to a wrong, deleted, disabled or expired
// credential, caught even where the anonymous token would pull a public project). Only then may a caller conclude the credential is bad, and revoke or
// abandon it; for a credential issued a moment ago, PullCheckFresh gives the
// registry one more chance first.
//
// It is false for nil and for every other failure: a missing image (NotFound), a
// project policy refusal (Policy), network, TLS, timeout, a refused realm, or an
// error that is no *PullError. None of them says anything against the credential.
func CredentialRefused(err error) bool {
	var pe *PullError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Reason == ReasonUnauthorized || pe.Reason == ReasonDenied
}

// Authorised reports whether err shows the credential got through the registry's
// authentication and authorisation for the image: nil (the manifest was served),
// ReasonNotFound at the manifest request (the token was good for the repository,
// the tag is missing) or ReasonPolicy (Harbor authorised the pull, then its
// project policy refused the image: 412, to HEAD without a body, to GET with
// PROJECTPOLICYVIOLATION).
//
// With a token service, every one of them comes after the check proved the
// credential authenticated (the token named its user, or the service accepted
// the credential without a scope), so a public project, where an anonymous token
// pulls too, no longer makes a refused credential look authorised. Two limits of
// the registries remain: a registry that wants no authentication at all (/v2/
// answers 200) ignores the credential, so nil there proves only that pulls work; and a registry that hides repositories the credential may not see behind
// a 404 makes NotFound look authorised.
//
// It is false for every failure that was refused, or that ended before the
// registry judged the credential.
func Authorised(err error) bool {
	if err == nil {
		return true
	}
	var pe *PullError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Reason == ReasonPolicy || (pe.Reason == ReasonNotFound && pe.Stage == StageManifest)
}
