// Package state keeps what the rotator knows about each credential in the cluster itself: one
// Secret per credential in the rotator's namespace. Any replica, and any later run after a
// crash, reads it and resumes: the credential in use, one issued but not yet everywhere, and the
// old ones waiting for their grace period to end before they are revoked.
package state

import (
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Issued is a credential the rotator created. The password is kept beside it, in the state
// Secret's data, never in this struct's JSON.
type Issued struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Username  string    `json:"username"`
	Registry  string    `json:"registry"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Fingerprint of the dockerconfigjson built from it.
	Fingerprint string `json:"fingerprint"`
	// Projects it was issued for (empty in states of earlier versions): the provider lists a
	// credential only among those of the same projects, and a change means a new credential.
	Projects []string `json:"projects,omitempty"`

	// Password is loaded from and saved to the state Secret's data; not part of state.json.
	Password string `json:"-"`
}

// Retired is a credential replaced by a newer one (or abandoned because it no longer
// authenticates). It is revoked once RevokeAt has passed and no target namespace holds it.
type Retired struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	RetiredAt time.Time `json:"retiredAt"`
	RevokeAt  time.Time `json:"revokeAt"`
	// ExpiresAt of the credential (zero: never): an expired credential is revoked even while a
	// target still holds it, since it no longer works for anyone.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Why it was retired: "replaced", "abandoned: ...", "found in a managed secret".
	Reason string `json:"reason,omitempty"`
}

// Intent is the exact name of a credential about to be requested from the provider, written
// before the request. Found set by a later run, it means the run that wrote it died before
// recording the result: the provider may hold a credential of exactly that name, which nobody
// knows the password of, and which is this cluster's to delete. Nothing else ever is.
type Intent struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// WrittenBack records a credential written to a Vault KV v2 secret (no secret value).
type WrittenBack struct {
	Mount        string    `json:"mount,omitempty"`
	Path         string    `json:"path"`
	Version      int       `json:"version"`
	CredentialID string    `json:"credentialId"`
	Fingerprint  string    `json:"fingerprint"`
	At           time.Time `json:"at"`
}

// Run records the outcome of the last run that changed anything.
type Run struct {
	Time   time.Time `json:"time"`
	Result string    `json:"result"` // "succeeded" or "failed"
	Error  string    `json:"error,omitempty"`
}

// State of one credential.
type State struct {
	// Current is the credential every target should hold.
	Current *Issued `json:"current,omitempty"`
	// Pending was issued and verified but is not yet everywhere: a run resumes it instead of
	// issuing yet another credential.
	Pending *Issued `json:"pending,omitempty"`
	// Retired credentials await revocation.
	Retired []Retired `json:"retired,omitempty"`
	LastRun *Run      `json:"lastRun,omitempty"`
	// LastSuccess is when a run of this credential last succeeded having changed something:
	// rotator_last_success_timestamp_seconds is restored from it when a process starts or a
	// replica becomes leader, so the "no success in N days" alert survives both.
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	// Intent is written just before a credential is requested from the provider and cleared
	// once the answer is recorded (see Intent).
	Intent *Intent `json:"intent,omitempty"`
	// SweepPending: this state was started after the previous one was lost, and the provider
	// has not yet been searched for this installation's credentials nobody knows any more.
	SweepPending bool `json:"sweepPending,omitempty"`
	// Issuing is the time-only mark of earlier versions. It cannot name an orphan, so it is
	// only cleared (a run that finds it says so); it is never used to delete anything.
	Issuing *time.Time `json:"issuing,omitempty"`
	// WrittenBack is the credential last written to the Vault write-back secret; a run writes
	// again while it differs from Current (a new credential, or an earlier failure).
	WrittenBack *WrittenBack `json:"writtenBack,omitempty"`
	// Revoked are the ids of the last credentials of this state revoked, oldest first, at most
	// MaxRevoked: a managed Secret of a namespace that left the targets (and kept its Secret)
	// still carries one when it comes back, and the rotator must still know it wrote that Secret.
	Revoked []string `json:"revoked,omitempty"`

	// resourceVersion of the Secret it was read from: saving fails on a concurrent change.
	resourceVersion string
	// uid of that Secret, for Events on it.
	uid types.UID
}

// Known reports whether id is a credential this state refers to.
func (s *State) Known(id string) bool {
	if s.Current != nil && s.Current.ID == id || s.Pending != nil && s.Pending.ID == id {
		return true
	}
	for _, r := range s.Retired {
		if r.ID == id {
			return true
		}
	}
	return false
}

// MaxRevoked bounds State.Revoked: a credential rotated daily is remembered for half a year.
const MaxRevoked = 200

// Ours reports whether id is a credential this state issued: current, pending, retired or
// revoked (among the last MaxRevoked). A Secret carrying such an id is the rotator's, whatever
// its labels say; a tenant can set labels, not learn an id the rotator never gave its namespace.
func (s *State) Ours(id string) bool {
	if id == "" {
		return false
	}
	return s.Known(id) || slices.Contains(s.Revoked, id)
}

// Exists reports whether a state was ever saved (false for a state Secret not found).
func (s *State) Exists() bool { return s.resourceVersion != "" }

// UID of the state Secret it was read from ("" for a state never saved).
func (s *State) UID() types.UID { return s.uid }

// Retire moves Current to Retired, revocable at revokeAt.
func (s *State) Retire(now, revokeAt time.Time) {
	if s.Current == nil {
		return
	}
	s.RetireIssued(s.Current, now, revokeAt, "replaced")
	s.Current = nil
}

// RetireIssued adds c to Retired (once), revocable at revokeAt.
func (s *State) RetireIssued(c *Issued, now, revokeAt time.Time, reason string) {
	for _, r := range s.Retired {
		if r.ID == c.ID {
			return
		}
	}
	s.Retired = append(s.Retired, Retired{ID: c.ID, Name: c.Name, RetiredAt: now, RevokeAt: revokeAt, ExpiresAt: c.ExpiresAt, Reason: reason})
}

// Promote makes Pending the Current credential, retiring the previous one.
func (s *State) Promote(now, revokeAt time.Time) {
	if s.Pending == nil {
		return
	}
	s.Retire(now, revokeAt)
	s.Current, s.Pending = s.Pending, nil
}

// DropRetired forgets a revoked credential, but for its id (Ours).
func (s *State) DropRetired(id string) {
	out := s.Retired[:0]
	for _, r := range s.Retired {
		if r.ID != id {
			out = append(out, r)
		}
	}
	s.Retired = out
	if !slices.Contains(s.Revoked, id) {
		s.Revoked = append(s.Revoked, id)
	}
	if n := len(s.Revoked) - MaxRevoked; n > 0 {
		s.Revoked = slices.Delete(s.Revoked, 0, n)
	}
}
