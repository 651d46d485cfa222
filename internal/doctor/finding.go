package doctor

// Code names one diagnosis. Codes are stable: scripts and tests match on them.
type Code string

// The causes a diagnosis can name, in the order of the chain kubelet follows.
const (
	// Healthy: nothing is wrong with this container's pull.
	Healthy Code = "Healthy"
	// NoPullSecret: the pod names no pull secret and neither does its ServiceAccount.
	NoPullSecret Code = "NoPullSecret"
	// PodPredatesServiceAccountBinding: the ServiceAccount has pull secrets, the pod has none:
	// admission copies them only into pods created after the binding.
	PodPredatesServiceAccountBinding Code = "PodPredatesServiceAccountBinding"
	// SecretNotFound: a pull secret the pod names does not exist in its namespace.
	SecretNotFound Code = "SecretNotFound"
	// SecretWrongType: a type kubelet ignores (Opaque), or the legacy kubernetes.io/dockercfg
	// type holding the newer format.
	SecretWrongType Code = "SecretWrongType"
	// SecretWrongKey: the data is under another key (config.json) than the type requires.
	SecretWrongKey Code = "SecretWrongKey"
	// SecretMalformed: the document is not the JSON kubelet expects, an auth field is not
	// base64(username:password), it has no entry, or the entry has no username or password.
	SecretMalformed Code = "SecretMalformed"
	// NoMatchingAuthsKey: no auths key matches the image's registry by kubelet's rules.
	NoMatchingAuthsKey Code = "NoMatchingAuthsKey"
	// AuthFieldMismatch: the entry's auth field disagrees with its username/password; kubelet
	// uses the auth field.
	AuthFieldMismatch Code = "AuthFieldMismatch"
	// PullSecretNotChecked: the registry refuses the pull (or kubelet fails it unexplained) and
	// the doctor may not read the pod's pull secrets, so it cannot say which of their links
	// breaks; the report's NotChecked say what it could not check and what grants it.
	PullSecretNotChecked Code = "PullSecretNotChecked"
	// RegistryRefused: every link up to the credential holds and the registry refuses the
	// credential (401) or its access to the repository (403).
	RegistryRefused Code = "RegistryRefused"
	// PullSucceedsNow: kubelet's pull failed, but the probe pulls with the secrets as they are
	// now: they were fixed after the failure.
	PullSucceedsNow Code = "PullSucceedsNow"
	// ImageNotFound: the registry says the repository or tag does not exist.
	ImageNotFound Code = "ImageNotFound"
	// RegistryTLS: the node does not trust the registry's certificate.
	RegistryTLS Code = "RegistryTLS"
	// RegistryUnreachable: name resolution, connection or timeout failure.
	RegistryUnreachable Code = "RegistryUnreachable"
	// PullFailed: a failure the doctor cannot attribute; the message is kubelet's.
	PullFailed Code = "PullFailed"
)

// Warnings: not the cause of a failure, but worth fixing.
const (
	// AuthsKeyNotPortable: the matching key has a scheme, a path or a glob: kubelet matches it,
	// Docker, containerd's own configuration and most other tools do not.
	AuthsKeyNotPortable Code = "AuthsKeyNotPortable"
	// LegacySecretType: a kubernetes.io/dockercfg secret; kubelet reads it, little else does.
	LegacySecretType Code = "LegacySecretType"
)

// Severity says whether a finding explains a failure.
type Severity string

// Severities.
const (
	SeverityOK      Severity = "ok"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Finding is one diagnosis. No field ever holds a secret's value.
type Finding struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	// Summary is one line; Explanation says why this breaks the pull and how the doctor knows.
	Summary     string `json:"summary"`
	Explanation string `json:"explanation,omitempty"`
	// Fix are shell lines to paste, in order; "#" lines are comments. Secret values appear only
	// as placeholders: '<username>', '<password>', and '<config.yaml>', '<image>'.
	Fix []string `json:"fix,omitempty"`

	// What the finding is about, where it applies.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	Secret         string `json:"secret,omitempty"` // name, in the pod's namespace
	Key            string `json:"key,omitempty"`    // auths key as written
	// OtherNamespaces holds a Secret of the missing name (SecretNotFound).
	OtherNamespaces []string `json:"otherNamespaces,omitempty"`
	// Credential is the rotator credential managing the secret (label rotator.dev/credential).
	Credential string `json:"credential,omitempty"`
	// Probed is true when the registry was asked (Probe), not only kubelet's Events read.
	Probed bool `json:"probed,omitempty"`
}

// Class is the kind of pull failure, read from kubelet's message.
type Class string

// Classes of pull failures.
const (
	ClassNone         Class = ""
	ClassAuth         Class = "auth"
	ClassPermission   Class = "permission"
	ClassMissingImage Class = "missing-image"
	ClassTLS          Class = "tls"
	ClassNetwork      Class = "network"
	ClassOther        Class = "other"
)

// credentialClass reports whether the pull secret may be the cause of a failure of class c:
// auth and permission failures are about the credential, and an unexplained failure may be a
// secret kubelet refuses as a whole (its error then names no registry answer).
func credentialClass(c Class) bool {
	return c == ClassAuth || c == ClassPermission || c == ClassOther
}
