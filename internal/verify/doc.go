// Package verify proves that a registry credential authenticates and can pull an
// image, with a real manifest request, and reports failures in terms a user can
// act on.
//
// A pull alone proves little: Harbor's token service answers a wrong, deleted,
// disabled or expired credential with 200 and an anonymous token, which pulls a
// public project. A token alone proves little too: an expired robot gets a
// token of empty access, refused only when the manifest is requested. So a check
// does the token exchange itself (GET /v2/ for the challenge, then the realm with
// the credential), proves that the token service authenticated the credential
// (the token's subject, or its answer to a request without a scope), and ends
// with a manifest request (HEAD, then GET when HEAD fails, to get past registries
// that refuse HEAD and to read the registry's error code).
//
// Doing the exchange itself also lets a check reach a token realm on another
// private host:port (GitLab's /jwt/auth), which go-containerregistry refuses, and
// keeps it from repeating a refused token request: GitLab counts failed /jwt/auth
// requests toward its IP ban. Checker.PullCheckFresh retries a new credential's
// first refusal once, after a short wait, for registries that answer from a
// lagging replica.
//
// Checker.PullCheckAsKubelet first picks the credential from pull secrets exactly
// as kubelet would (package pullsecret), so it also catches a secret whose key does
// not match the image's registry.
//
// Every check has a deadline (Checker.Timeout). What a failed check means for the
// credential is answered by CredentialRefused (the registry refused it: revoke or
// abandon it) and Authorised (it got through authentication and authorisation,
// even if the image itself was missing or refused by a project policy); every
// other failure, network, TLS or timeout above all, says nothing either way.
package verify
