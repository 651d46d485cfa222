package rotation

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/faultpoint"
)

// revoke deletes the planned credentials that may still go now that the run has distributed,
// and forgets them. The one rule that keeps every namespace pulling: a credential is never
// revoked while an existing target namespace's managed Secret still holds it (unless it
// expired, when it works for nobody). It stays retired and reported until that namespace is
// fixed, leaves the targets, or the credential expires.
func (r *Runner) revoke(ctx context.Context, p *plan, rep *Report) int {
	n, failed := 0, 0
	start := r.Clock.Now()
	now := r.Clock.Now()
	for i, c := range p.revoke {
		if ns := p.holders(c.ID); len(ns) > 0 && !expired(c.ExpiresAt, now) {
			c.HeldBy = ns
			c.Reason = fmt.Sprintf("held by namespace(s) %s, whose managed secret still holds it", strings.Join(ns, ", "))
			p.held = append(p.held, c)
			rep.warn("revocation of %s (id %s) held back: %s; it is revoked once they hold the current credential or leave the targets", c.Name, c.ID, c.Reason)
			r.stateEvents().Warning(ctx, r.stateObject(p), events.ReasonRevocationHeld, "revocation of %s (id %s) held back: %s", c.Name, c.ID, c.Reason)
			continue
		}
		if lost(ctx) {
			return n
		}
		faultpoint.Hit(faultpoint.BeforeRevoke)
		cctx, cancel := providerCall(ctx)
		err := r.Providers[p.cred.Name].Revoke(cctx, p.spec, c.ID)
		cancel()
		if err != nil {
			rep.fail(Transient, "revoke %s (id %s): %v; the next run tries again", c.Name, c.ID, err)
			failed++
			continue
		}
		faultpoint.Hit(faultpoint.AfterRevoke)
		p.state.DropRetired(c.ID)
		rep.Revoked = append(rep.Revoked, c)
		r.stateEvents().Normal(ctx, r.stateObject(p), events.ReasonRevoked, "revoked %s (id %s): %s", c.Name, c.ID, c.Reason)
		n++
		r.progress(p.cred.Name, "revoke", start, i+1, len(p.revoke), "revoked %s (id %s): %s", c.Name, c.ID, c.Reason)
	}
	if failed > 0 {
		p.clearIntent = false // an orphan not deleted yet is looked for again
	}
	rep.Held = append(rep.Held, p.held...)
	return n
}

// keep takes id out of the run's revocations: the credential it would have replaced stays
// current (a canary did not prove the new one).
func (p *plan) keep(id string) {
	p.revoke = slices.DeleteFunc(p.revoke, func(c CredentialRef) bool { return c.ID == id })
}
