package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"slices"
	"time"

	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/state"
)

// providerCallTimeout bounds one call to Harbor or GitLab. Their clients set no deadline of
// their own, and a provider that accepts the connection and never answers would otherwise hold
// the run lock, and `rotator run`'s loop for every credential, for as long as it likes.
const providerCallTimeout = 60 * time.Second

func providerCall(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, providerCallTimeout)
}

// nameTimeLayout stamps a credential's name with its creation time (UTC), so an admin reads
// its age from the name (GitLab does not report when a deploy token was created).
const nameTimeLayout = "20060102t150405"

// newName is the exact name of the next credential: prefix, time, random part, and the
// installation's tag (see snapshot.installTag).
func (r *Runner) newName(p *plan) string {
	src := r.Entropy
	if src == nil {
		src = rand.Reader
	}
	var b [2]byte
	_, _ = io.ReadFull(src, b[:])
	n := p.spec.NamePrefix + r.Clock.Now().UTC().Format(nameTimeLayout) + "-" + hex.EncodeToString(b[:])
	if p.installTag != "" {
		n += "-" + p.installTag
	}
	return n
}

// issue asks the provider for a new credential and records it as pending before anything
// depends on it. Before the request the state records its exact name (state.Intent), so that
// if the process dies between the provider creating it and this run recording it, the next run
// deletes exactly that credential. ok is false when the run must stop (reported and finished).
func (r *Runner) issue(ctx context.Context, p *plan, rep *Report) (issued *state.Issued, ok bool) {
	st := p.state
	t := r.Clock.Now()
	spec := p.spec
	spec.Name = r.newName(p)
	st.Intent, st.Issuing = &state.Intent{Name: spec.Name, At: t}, nil
	p.clearIntent = false
	if err := r.store().Save(ctx, p.cred.Name, st); err != nil {
		rep.fail(Transient, "record the intent to issue credential %s: %v", spec.Name, err)
		r.finish(ctx, p, rep, false)
		return nil, false
	}
	cctx, cancel := providerCall(ctx)
	c, err := r.Providers[p.cred.Name].Issue(cctx, spec)
	cancel()
	if err != nil {
		// The Intent stays: whether the provider created it is unknown, and the next run looks
		// for exactly that name.
		rep.fail(Transient, "issue a new credential: %v", err)
		r.finish(ctx, p, rep, true)
		return nil, false
	}
	faultpoint.Hit(faultpoint.AfterIssue)
	issued = &state.Issued{ID: c.ID, Name: c.Name, Username: c.Username, Password: c.Password,
		Registry: p.registry, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Projects: slices.Clone(p.spec.Projects)}
	if issued.IssuedAt.IsZero() {
		issued.IssuedAt = t
	}
	rep.Issued = &CredentialRef{ID: c.ID, Name: c.Name, ExpiresAt: c.ExpiresAt}
	r.progress(p.cred.Name, "issue", t, 1, 1, "issued %s (id %s), expires %s", c.Name, c.ID, expiry(c.ExpiresAt))
	// Record it before anything depends on it: if this process dies from here on, the next run
	// resumes (or revokes) this credential instead of leaking it.
	st.Pending, st.Intent = issued, nil
	if err := r.store().Save(ctx, p.cred.Name, st); err != nil {
		rep.fail(Transient, "record the issued credential: %v", err)
		if lost(ctx) {
			// No write after the lock is lost, not even this delete: the recorded Intent names
			// the credential, and the next holder of the lock deletes exactly that one.
			rep.Issued = nil
			return nil, false
		}
		r.revokeNew(ctx, p, issued, rep, "could not be recorded")
		return nil, false
	}
	faultpoint.Hit(faultpoint.AfterRecord)
	return issued, true
}

// revokeNew deletes a credential this run issued or resumed and that must not be used, and
// forgets it.
func (r *Runner) revokeNew(ctx context.Context, p *plan, issued *state.Issued, rep *Report, why string) {
	// A fresh context: the run's may be what was cancelled, and the credential must not leak.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerCallTimeout)
	defer cancel()
	if err := r.Providers[p.cred.Name].Revoke(cctx, p.spec, issued.ID); err != nil {
		rep.fail(Transient, "delete the new credential %s (id %s), which %s: %v; the next run deletes it", issued.Name, issued.ID, why, err)
		if p.state.Pending != nil && p.state.Pending.ID == issued.ID {
			// Keep it known, as abandoned, so the next run revokes it.
			p.state.RetireIssued(issued, r.Clock.Now(), r.Clock.Now(), "abandoned: "+why)
			p.state.Pending = nil
		}
		r.finish(ctx, p, rep, true) // the run's ctx: a run that lost its lock saves nothing
		return
	}
	rep.Revoked = append(rep.Revoked, CredentialRef{ID: issued.ID, Name: issued.Name, Reason: why})
	rep.Issued = nil
	if p.state.Pending != nil && p.state.Pending.ID == issued.ID {
		p.state.Pending = nil
	}
	r.finish(ctx, p, rep, true)
}
