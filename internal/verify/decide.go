package verify

import "errors"

// CredentialRefused reports whether err says the registry refused the credential
// itself: a *PullError (also wrapped) with ReasonUnauthorized or ReasonDenied, that
// is 401, 403, UNAUTHORIZED or DENIED at the token request or the manifest request,
// including a token issued without the requested access (Harbor's and GitLab's
// answer to a deleted, disabled or expired credential). Only then may a caller
// conclude the credential is bad, and revoke or abandon it.
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
// project policy refused the image).
//
// It is false for every failure that was refused, or that ended before the
// registry judged the credential. Two limits of the registries, not of this
// function: on a public project an anonymous pull succeeds, so nil there does not
// prove the credential authenticated; and a registry that hides repositories the
// credential may not see behind a 404 makes NotFound look authorised.
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
