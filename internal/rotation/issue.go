package rotation

import (
	"context"

	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/state"
)

// issue asks the provider for a new credential and records it as pending before anything
// depends on it. Around the provider call the state carries an Issuing mark, so that if the
// process dies between the provider creating the credential and this run recording it, the next
// run finds and deletes exactly that orphan. ok is false when the run must stop (already
// reported and finished).
func (r *Runner) issue(ctx context.Context, p *plan, rep *Report) (issued *state.Issued, ok bool) {
	st := p.state
	t := r.Clock.Now()
	st.Issuing = &t
	if err := r.store().Save(ctx, p.cred.Name, st); err != nil {
		rep.fail("record the intent to issue a credential: %v", err)
		r.finish(ctx, p, rep, false)
		return nil, false
	}
	p.issuingOpen = true
	c, err := r.Providers[p.cred.Name].Issue(ctx, p.spec)
	if err != nil {
		// The Issuing mark stays: whether the provider created something is unknown, and the
		// next run looks.
		rep.fail("issue a new credential: %v", err)
		r.finish(ctx, p, rep, true)
		return nil, false
	}
	faultpoint.Hit(faultpoint.AfterIssue)
	issued = &state.Issued{ID: c.ID, Name: c.Name, Username: c.Username, Password: c.Password,
		Registry: p.registry, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt}
	if issued.IssuedAt.IsZero() {
		issued.IssuedAt = t
	}
	rep.Issued = &CredentialRef{ID: c.ID, Name: c.Name, ExpiresAt: c.ExpiresAt}
	r.progress(p.cred.Name, "issue", t, 1, 1, "issued %s (id %s), expires %s", c.Name, c.ID, expiry(c.ExpiresAt))
	// Record it before anything depends on it: if this process dies from here on, the next run
	// resumes (or revokes) this credential instead of leaking it.
	st.Pending, st.Issuing = issued, nil
	if err := r.store().Save(ctx, p.cred.Name, st); err != nil {
		rep.fail("record the issued credential: %v", err)
		r.revokeNew(ctx, p, issued, rep)
		return nil, false
	}
	p.issuingOpen = false
	faultpoint.Hit(faultpoint.AfterRecord)
	return issued, true
}
