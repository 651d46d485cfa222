// Package secretsync writes the rotator's kubernetes.io/dockerconfigjson Secrets into target
// namespaces and binds them to ServiceAccounts. It owns the labels and annotations that mark a
// Secret as managed and carry what the next run needs to know, never the secret itself.
package secretsync

// Labels and annotations on every managed Secret.
const (
	// LabelManagedBy marks a Secret as written by the rotator.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "rotator"
	// LabelCredential names the config credential the Secret belongs to; a list with this label
	// selects every Secret of one credential across the cluster in one request.
	LabelCredential = "rotator.dev/credential" //nolint:gosec // G101: a label key, not a credential

	// AnnotationCredentialID is the provider's id of the credential inside (e.g. a robot id).
	AnnotationCredentialID = "rotator.dev/credential-id" //nolint:gosec // G101: a label key, not a credential
	// AnnotationCredentialName is its provider name (e.g. robot$proj+rotator-x-...), not a secret.
	AnnotationCredentialName = "rotator.dev/credential-name" //nolint:gosec // G101: a label key, not a credential
	// AnnotationIssuedAt and AnnotationExpiresAt are RFC 3339 times; expires-at is absent when
	// the credential never expires.
	AnnotationIssuedAt  = "rotator.dev/issued-at"
	AnnotationExpiresAt = "rotator.dev/expires-at"
	// AnnotationFingerprint is a short hash of the .dockerconfigjson content: equal fingerprints
	// mean equal content, so drift is found without reading the password.
	AnnotationFingerprint = "rotator.dev/fingerprint"
)
