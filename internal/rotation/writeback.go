package rotation

import (
	"context"
	"slices"
	"time"

	"github.com/rotatorhq/rotator/internal/state"
)

// KVWriter writes a new version of a KV version 2 secret and sets its custom metadata; the
// previous versions stay in the secret's history. secretsource.Vault implements it.
type KVWriter interface {
	WriteKV(ctx context.Context, mount, path string, data, customMetadata map[string]string) (version int, err error)
}

// WriteBackResult is the Vault secret version that received the credential.
type WriteBackResult struct {
	Mount        string `json:"mount,omitempty"`
	Path         string `json:"path"`
	Version      int    `json:"version"`
	CredentialID string `json:"credentialId"`
}

// writeBackDue reports whether the current credential is not yet in the write-back secret.
func (p *plan) writeBackDue() bool {
	wb, cur := p.cred.WriteBack, p.state.Current
	if wb == nil || cur == nil {
		return false
	}
	w := p.state.WrittenBack
	return w == nil || w.Fingerprint != cur.Fingerprint || w.Mount != wb.Mount || w.Path != wb.Path
}

// writeBack puts the current credential into the configured Vault secret when it is not there
// yet: right after a promotion, or in a later run when an earlier write-back failed. A failure
// fails the run (non-zero exit) but never undoes the rotation: every target keeps the new
// credential, and the next run writes it back again. It reports whether the state changed.
func (r *Runner) writeBack(ctx context.Context, p *plan, rep *Report) bool {
	if !p.writeBackDue() {
		return false
	}
	wb, cur := p.cred.WriteBack, p.state.Current
	where := wb.Path
	if wb.Mount != "" {
		where = wb.Mount + ": " + wb.Path
	}
	if r.Vault == nil {
		rep.fail(Transient, "write the credential %s back to Vault (%s): no Vault client: set the top-level vault section", cur.Name, where)
		r.holdRevocation(p, rep)
		return false
	}
	t := r.Clock.Now()
	expires := "never"
	if !cur.ExpiresAt.IsZero() {
		expires = cur.ExpiresAt.UTC().Format(time.RFC3339)
	}
	data := map[string]string{
		"registry":        cur.Registry,
		"username":        cur.Username,
		"password":        cur.Password,
		"expires_at":      expires,
		"credential_id":   cur.ID,
		"credential_name": cur.Name,
	}
	// What wrote it, for whoever finds the secret in Vault.
	meta := map[string]string{
		"written-by":    "rotator",
		"credential":    p.cred.Name,
		"credential-id": cur.ID,
		"provider":      p.cred.Provider,
	}
	version, err := r.Vault.WriteKV(ctx, wb.Mount, wb.Path, data, meta)
	if err != nil {
		rep.fail(Transient, "write the credential %s back to Vault (%s): %v; the rotation itself stands (every target holds the new credential) and the next run writes it back again",
			cur.Name, where, err)
		r.holdRevocation(p, rep)
		return false
	}
	p.state.WrittenBack = &state.WrittenBack{Mount: wb.Mount, Path: wb.Path, Version: version,
		CredentialID: cur.ID, Fingerprint: cur.Fingerprint, At: r.Clock.Now()}
	rep.WrittenBack = &WriteBackResult{Mount: wb.Mount, Path: wb.Path, Version: version, CredentialID: cur.ID}
	r.progress(p.cred.Name, "write-back", t, 1, 1, "wrote %s to Vault %s, version %d", cur.Name, where, version)
	return true
}

// holdRevocation keeps the credential that Vault still holds from being revoked while the
// write-back is behind: clients outside the cluster read it there, and would be left with a dead
// credential. It is revoked by the run that writes the new one back.
func (r *Runner) holdRevocation(p *plan, rep *Report) {
	w := p.state.WrittenBack
	if w == nil || !p.revoking(w.CredentialID) {
		return
	}
	p.revoke = slices.DeleteFunc(p.revoke, func(c CredentialRef) bool { return c.ID == w.CredentialID })
	rep.warn("revocation of credential id %s held back: the Vault write-back secret %s still holds it; the run that writes the new credential back revokes it", w.CredentialID, w.Path)
}
