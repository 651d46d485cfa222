// Package providers defines what the rotation pipeline needs from a registry's credential issuer
// (Harbor, GitLab). A provider issues a brand-new credential and revokes one by id; it never
// rotates a credential in place, because both Harbor (refresh) and GitLab (/rotate) kill the old
// secret at once, which would break every pod still pulling with it.
package providers

import (
	"context"
	"errors"
	"time"
)

// Spec says what a credential must grant and how the rotator recognises the ones it created.
type Spec struct {
	// Credential is the name of the credential in the rotator's config, e.g. "harbor-main".
	Credential string
	// NamePrefix starts the name of every credential the rotator creates for this Spec, e.g.
	// "rotator-harbor-main-". The rotator only ever lists, and deletes, credentials with it.
	NamePrefix string
	// Projects the credential may pull from (Harbor projects, GitLab project or group paths).
	Projects []string
	// Lifetime of a new credential; 0 means the provider's "never expires".
	Lifetime time.Duration
	// Name, when set, is the exact name to give the credential at creation (it starts with
	// NamePrefix). The rotation core chooses it and records it before the create call, so that
	// after a crash it deletes exactly that credential and nothing else. Empty: the provider
	// makes one up (NamePrefix + time + random).
	Name string
	// Description is stored with the credential so an admin sees who created it and why.
	Description string
}

// Credential is a freshly issued registry credential. Password only ever lives in memory and in
// the Secrets the rotator writes; it must never be logged or printed.
type Credential struct {
	Owned
	// Username is what a registry login uses (for Harbor the robot's full name).
	Username string
	Password string
}

// Owned describes a credential the rotator created, as the provider reports it (no secret).
type Owned struct {
	ID        string    // provider-specific id, e.g. a Harbor robot id "42"
	Name      string    // full name as the provider stores it, e.g. "robot$proj+rotator-x-20261124t101500"
	GivenName string    // the name given at creation (Spec.Name), without Harbor's robot prefix or project
	IssuedAt  time.Time // creation time
	ExpiresAt time.Time // zero when it never expires
	Disabled  bool
}

// Provider issues and revokes pull-only credentials on one registry.
type Provider interface {
	// Issue creates a new pull-only credential for spec. It never modifies an existing one.
	Issue(ctx context.Context, spec Spec) (Credential, error)
	// Revoke deletes the credential with this id. A credential already gone is not an error.
	Revoke(ctx context.Context, spec Spec, id string) error
	// List returns the credentials for spec whose name starts with spec.NamePrefix.
	List(ctx context.Context, spec Spec) ([]Owned, error)
}

// ErrNotFound is returned (wrapped) when a project, group or credential does not exist.
var ErrNotFound = errors.New("not found")

// ErrAuth is returned (wrapped) when the provider refuses the rotator's admin credentials (401).
var ErrAuth = errors.New("provider refused the admin credentials")

// ErrForbidden is returned (wrapped) when the admin identity lacks a permission (403).
var ErrForbidden = errors.New("provider denied the operation")
