// Package notify tells webhooks about what needs a person: a failed run, a rolled-back
// credential, a revocation held back, a credential near expiry and not rotated. Notifications
// carry facts only (names, ids, reasons, times), never a password or token; delivery is
// asynchronous (notifier.go), so a slow receiver never delays a rotation.
package notify

import "time"

// Kind of a notification; its value is the event name of the config (webhooks[].events) and
// of the metric label.
type Kind string

// The kinds, one per Notification type.
const (
	KindRotationFailed    Kind = "failure"
	KindRolledBack        Kind = "rollback"
	KindRevocationHeld    Kind = "revocation-held"
	KindExpiryApproaching Kind = "expiry-approaching"
)

// Credential is the configured credential a notification is about.
type Credential struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Registry string `json:"registry,omitempty"`
}

// Ref names one provider credential (a robot, a token) by id and name, never by its secret.
type Ref struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// HeldBy are the namespaces whose managed Secret still holds it (RevocationHeld).
	HeldBy []string `json:"heldBy,omitempty"`
}

// Notification is one of RotationFailed, RolledBack, RevocationHeld, ExpiryApproaching.
type Notification interface {
	Kind() Kind
	// About is the credential concerned.
	About() Credential
	// key tells one occurrence from another of the same kind and credential, for deduplication.
	key() string
	// summary is the one line a person reads first.
	summary() string
	when() time.Time
}

// RotationFailed: a run ended with errors (already free of secrets: the run's report).
type RotationFailed struct {
	Credential Credential
	// Cause is transient (retried with back-off) or permanent (needs a person).
	Cause  string
	Errors []string
	// ConsecutiveFailures counts the failed runs in a row, this one included; FailingSince is
	// when the first of them ended.
	ConsecutiveFailures int
	FailingSince        time.Time
	At                  time.Time
}

// RolledBack: a new credential could not pull and was taken back out of the targets.
type RolledBack struct {
	Credential Credential
	RolledBack Ref
	At         time.Time
}

// RevocationHeld: retired credentials are not revoked because target namespaces still hold them.
type RevocationHeld struct {
	Credential Credential
	Held       []Ref
	At         time.Time
}

// ExpiryApproaching: more than half of renewBefore is used up and the credential was not
// rotated (the same condition as the RotatorCredentialExpiresUnrotated alert).
type ExpiryApproaching struct {
	Credential Credential
	Current    Ref
	RenewAt    time.Time
	At         time.Time
}

// Kind, About: the Notification interface; each kind's payload section is in payload.go.

// Kind is KindRotationFailed.
func (RotationFailed) Kind() Kind { return KindRotationFailed }

// Kind is KindRolledBack.
func (RolledBack) Kind() Kind { return KindRolledBack }

// Kind is KindRevocationHeld.
func (RevocationHeld) Kind() Kind { return KindRevocationHeld }

// Kind is KindExpiryApproaching.
func (ExpiryApproaching) Kind() Kind { return KindExpiryApproaching }

// About is the credential that failed.
func (n RotationFailed) About() Credential { return n.Credential }

// About is the credential whose new one was rolled back.
func (n RolledBack) About() Credential { return n.Credential }

// About is the credential whose retired ones are held.
func (n RevocationHeld) About() Credential { return n.Credential }

// About is the credential near expiry.
func (n ExpiryApproaching) About() Credential { return n.Credential }

func (n RotationFailed) when() time.Time    { return n.At }
func (n RolledBack) when() time.Time        { return n.At }
func (n RevocationHeld) when() time.Time    { return n.At }
func (n ExpiryApproaching) when() time.Time { return n.At }
