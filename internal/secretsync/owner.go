package secretsync

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Owner tells the rotator's Secrets from a tenant's. Labels prove nothing: anyone who may create
// a Secret in a namespace may set app.kubernetes.io/managed-by=rotator on it. What a tenant
// cannot make up is the provider's id of a credential the rotator issued, which it learns only
// from the Secret the rotator wrote into its own namespace. So a Secret is the rotator's when it
// carries such an id (Ours), with its labels or without (edited away), of any type (replaced by
// hand). A tenant copying the id of its own Secret into a new one makes the rotator overwrite
// only that Secret, in its own namespace, which holds the rotator's Secret anyway.
//
// One more case keeps the rotator from wedging: a run that lost its lock (or crashed) after
// writing may leave Secrets holding a credential its state never recorded. Such a Secret has the
// rotator's labels and the name the rotator gives its credentials (NamePrefix), so it is the
// rotator's too. A tenant can dress a Secret up that way, but only in its own namespace, with
// the names it sees there: docs/security.md says so.
type Owner struct {
	// Credential is the config credential (the rotator.dev/credential label).
	Credential string
	// NamePrefix starts the provider names of the credential's credentials.
	NamePrefix string
	// Ours reports whether id is a credential the credential's state issued (state.State.Ours).
	Ours func(id string) bool
	// Adopt takes over any same-named Secret (targets.adopt).
	Adopt bool
}

// Owns reports whether the rotator may write (or delete) s.
func (o Owner) Owns(s *corev1.Secret) bool {
	if o.Adopt {
		return true
	}
	id := s.Annotations[AnnotationCredentialID]
	if id == "" {
		return false
	}
	if o.Ours != nil && o.Ours(id) {
		return true
	}
	return IsManaged(s, o.Credential) && o.NamePrefix != "" && strings.Contains(s.Annotations[AnnotationCredentialName], o.NamePrefix)
}
