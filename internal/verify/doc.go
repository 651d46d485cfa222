// Package verify proves that a registry credential can pull an image, with a real
// manifest request, and reports failures in terms a user can act on.
//
// A token alone proves nothing: Harbor's and GitLab's token endpoints answer 200
// with a token of empty access to an expired or under-privileged credential, and
// the registry refuses it only when the manifest is requested. So every check ends
// with a manifest request (HEAD, then GET when HEAD fails, to get past registries
// that refuse HEAD and to read the registry's error code).
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
