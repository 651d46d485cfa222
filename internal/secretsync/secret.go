package secretsync

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// Content is what a managed Secret holds, for one credential.
type Content struct {
	// Credential is the config name of the credential.
	Credential string
	// Registry is the canonical host[:port] written as the auths key.
	Registry           string
	Username, Password string
	// ID and Name of the credential at the provider, IssuedAt/ExpiresAt its lifetime.
	ID, Name            string
	IssuedAt, ExpiresAt time.Time
}

// DockerConfigJSON is the Secret's .dockerconfigjson value.
func (c Content) DockerConfigJSON() ([]byte, error) {
	return pullsecret.Build(c.Registry, c.Username, c.Password)
}

// Fingerprint of the content (see AnnotationFingerprint).
func (c Content) Fingerprint() (string, error) {
	b, err := c.DockerConfigJSON()
	if err != nil {
		return "", err
	}
	return pullsecret.Fingerprint(b), nil
}

// Secret builds the desired Secret named name in namespace ns.
func (c Content) Secret(ns, name string) (*corev1.Secret, error) {
	data, err := c.DockerConfigJSON()
	if err != nil {
		return nil, err
	}
	ann := map[string]string{
		AnnotationCredentialID:   c.ID,
		AnnotationCredentialName: c.Name,
		AnnotationIssuedAt:       c.IssuedAt.UTC().Format(time.RFC3339),
		AnnotationFingerprint:    pullsecret.Fingerprint(data),
	}
	if !c.ExpiresAt.IsZero() {
		ann[AnnotationExpiresAt] = c.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns,
			Labels:      map[string]string{LabelManagedBy: ManagedByValue, LabelCredential: c.Credential},
			Annotations: ann,
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data},
	}, nil
}

// IsManaged reports whether s was written by the rotator for credential.
func IsManaged(s *corev1.Secret, credential string) bool {
	return s.Labels[LabelManagedBy] == ManagedByValue && s.Labels[LabelCredential] == credential
}

// UpToDate reports whether the existing Secret already holds exactly the desired content: right
// type, exactly the one key, and a fingerprint of its actual data (not just of its annotation)
// equal to the desired one. A hand-edited Secret is therefore found as drifted.
func UpToDate(existing *corev1.Secret, desiredFingerprint string) bool {
	if existing.Type != corev1.SecretTypeDockerConfigJson || len(existing.Data) != 1 {
		return false
	}
	data, ok := existing.Data[corev1.DockerConfigJsonKey]
	if !ok {
		return false
	}
	return pullsecret.Fingerprint(data) == desiredFingerprint &&
		existing.Annotations[AnnotationFingerprint] == desiredFingerprint
}
