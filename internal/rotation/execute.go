package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/verify"
)

// Rotate plans and, unless opts.DryRun, carries out the rotation of one credential. The report
// says what was done, target by target; Report.OK is false if any target is not done.
func (r *Runner) Rotate(ctx context.Context, cred *config.Credential, opts Options) *Report {
	lk, own := lockFrom(ctx)
	if !own {
		lk = &runLock{take: r.Lock}
		ctx = withLock(ctx, lk)
		defer lk.release()
	}
	if lk.held() {
		ctx = lk.ctx //nolint:contextcheck // the held lock's ctx is derived from the caller's (runlock.Acquire)
	}
	start := r.Clock.Now()
	rep := &Report{Credential: cred.Name, Cluster: r.Cluster, Provider: cred.Provider, DryRun: opts.DryRun}
	defer func() {
		// Events may trail the writes (events.Recorder.Background): the run ends when they are
		// out, or dropped if ctx ended.
		r.Events.Flush(ctx)
		if r.StateEvents != nil {
			r.StateEvents.Flush(ctx)
		}
		rep.Duration = r.Clock.Since(start)
		if !opts.DryRun && !rep.deferred { // a deferred run is counted when it is completed
			r.Metrics.Run(r.stateKey(cred.Name), string(rep.Result), r.Clock.Now(), rep.Duration)
		}
	}()

	p, err := r.plan(ctx, cred, opts)
	if err != nil {
		rep.Result = Failed
		rep.fail(Transient, "plan: %v", err)
		return rep
	}
	rep.setPlan(p)
	r.progress(cred.Name, "plan", start, 0, 0, "%d namespaces, %d dependent workloads, %d to revoke: %s",
		len(p.namespaces), len(p.workloads), len(p.revoke), p.reason)

	if opts.DryRun {
		r.describe(p, rep)
		rep.Result = Planned
		return rep
	}
	if p.idle() {
		// Nothing due: no lock, no write, not even to the state.
		rep.Result = NothingDue
		for _, ns := range p.namespaces {
			rep.Secrets = append(rep.Secrets, SecretResult{Namespace: ns, Name: cred.Targets.SecretName, Action: string(secretsync.Unchanged)})
		}
		return rep
	}
	if !lk.held() {
		if ctx, err = lk.acquire(ctx); err != nil {
			rep.Result = Failed
			rep.fail(Transient, "%v", err)
			return rep
		}
		// Another process may have run while this one waited: decide again under the lock.
		if p, err = r.plan(ctx, cred, opts); err != nil {
			rep.Result = Failed
			rep.fail(Transient, "plan: %v", err)
			return rep
		}
		rep.setPlan(p)
		if p.idle() {
			rep.Result = NothingDue
			return rep
		}
	}
	if len(p.blocking) > 0 {
		r.finish(ctx, p, rep, p.clearIntent || len(p.abandoned) > 0)
		return rep
	}
	r.execute(ctx, p, rep)
	return rep
}

// execute carries out p, phase by phase. A phase that makes later phases unsafe (a credential
// refused by the registry, a lost lock) ends the run; a target that fails is reported and
// does not hold the others back.
func (r *Runner) execute(ctx context.Context, p *plan, rep *Report) {
	st := p.state
	changed := len(p.abandoned) > 0
	for _, c := range p.abandoned {
		r.stateEvents().Warning(ctx, r.stateObject(p), events.ReasonAbandoned, "credential %s (id %s) abandoned: %s; a new one replaces it", c.Name, c.ID, c.Reason)
	}

	// Phase 1: the credential to distribute.
	var issued *state.Issued
	switch p.decision {
	case IssueNew:
		var ok bool
		if issued, ok = r.issue(ctx, p, rep); !ok {
			return
		}
		changed = true
	case ResumePending:
		issued = st.Pending
		rep.Issued = &CredentialRef{ID: issued.ID, Name: issued.Name, ExpiresAt: issued.ExpiresAt}
	case RepairOnly:
		issued = st.Current
	}
	content := contentOf(p, issued)
	fp, err := content.Fingerprint()
	if err != nil {
		rep.fail(Permanent, "build the pull secret: %v", err)
		r.finish(ctx, p, rep, changed)
		return
	}
	issued.Fingerprint = fp

	// Phase 2: verify before anyone depends on it.
	if p.decision != RepairOnly {
		if err := r.verifyNew(ctx, p, issued, rep); err != nil {
			r.stateEvents().Warning(ctx, r.stateObject(p), events.ReasonVerifyFailed, "%v", err)
			if verify.CredentialRefused(err) {
				rep.fail(Permanent, "%v; nothing was written", err)
				r.revokeNew(ctx, p, issued, rep, "was refused by the registry")
				return
			}
			// Not a verdict on the credential (the registry did not answer): it stays pending
			// and the next run verifies it again.
			rep.fail(Transient, "%v; nothing was written, the credential stays pending", err)
			r.finish(ctx, p, rep, true)
			return
		}
	}

	// Phase 3: distribute. Every target is attempted; one that fails keeps what it had.
	faultpoint.Hit(faultpoint.AfterVerify)
	wrote := r.writeSecrets(ctx, p, content, rep)
	bound := r.bindServiceAccounts(ctx, p, rep)
	faultpoint.Hit(faultpoint.AfterBind)
	changed = changed || wrote > 0 || bound > 0
	if lost(ctx) {
		r.stop(ctx, rep)
		return
	}

	// Phase 4: check as kubelet; roll back only to a previous credential that verifies now.
	if p.decision != RepairOnly || wrote > 0 {
		// Pulling is not free for the registry: a run that wrote nothing has nothing new to prove.
		if refused := r.verifyAsKubelet(ctx, p, rep); refused > 0 && p.decision != RepairOnly {
			if r.rollback(ctx, p, issued, rep) {
				return
			}
		}
	}
	if p.deferRestart && p.decision != RepairOnly {
		rep.deferred = true
		r.finish(ctx, p, rep, true)
		return
	}

	// Phase 5: restart what needs it (decideRestarts). A failed rollout is reported and keeps
	// nothing pending, except a canary's: its rollout is the proof the new credential pulls.
	r.unstickPods(ctx, p, rep)
	restarts := r.restartWorkloads(ctx, p, fp, rep)
	changed = changed || restarts.restarted > 0
	if lost(ctx) {
		r.stop(ctx, rep)
		return
	}

	// Phase 6: promote. Every target was attempted; those that failed are reported and keep
	// the previous credential, which is then held back from revocation (phase 7). A credential
	// whose canary did not roll out stays pending: the previous one stays current, so nothing
	// retires or revokes it, and the next run resumes the pending one and its canary.
	if p.decision != RepairOnly {
		if unproven := restarts.unproven(); len(unproven) > 0 {
			msg := unprovenMessage(issued.Name, unproven)
			if len(restarts.failed) > 0 {
				rep.fail(Transient, "%s", msg)
			} else {
				rep.warn("%s", msg) // deferred: a run inside a window completes it
			}
			r.stateEvents().Warning(ctx, r.stateObject(p), events.ReasonRolloutTimedOut, "%s", msg)
			if st.Current != nil {
				p.keep(st.Current.ID)
			}
			r.revoke(ctx, p, rep)
			r.finish(ctx, p, rep, true)
			return
		}
		now := r.Clock.Now()
		st.Promote(now, now.Add(p.cred.RevokeAfter.Duration))
		changed = true
	}
	changed = r.writeBack(ctx, p, rep) || changed

	// Phase 7: revoke what no target holds any more.
	if n := r.revoke(ctx, p, rep); n > 0 || p.clearIntent {
		changed = true
	}
	r.finish(ctx, p, rep, changed)
}

// lost reports whether the run's context ended: the run lock was lost or the process is
// stopping. No further write may be made.
func lost(ctx context.Context) bool { return ctx.Err() != nil }

// stop ends a run that may not write any more (lock lost, cancelled). What it recorded stays;
// the next run resumes from there.
func (r *Runner) stop(ctx context.Context, rep *Report) {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) {
		cause = ctx.Err()
	}
	rep.fail(Transient, "stopped before its next write (%v): the next run resumes", cause)
	rep.Result = Failed
}

// finish records the run in the state when it changed anything, and sets the result. A run
// with nothing due writes nothing at all, not even its own record.
func (r *Runner) finish(ctx context.Context, p *plan, rep *Report, changed bool) {
	for _, b := range p.blocking {
		rep.fail(Permanent, "%s", b)
	}
	switch {
	case !rep.OK():
		rep.Result = Failed
	case changed:
		rep.Result = Succeeded
	default:
		rep.Result = NothingDue
	}
	if lost(ctx) {
		return
	}
	if p.clearIntent {
		p.state.Intent, p.state.Issuing = nil, nil
	}
	if !changed && rep.OK() {
		return
	}
	run := &state.Run{Time: r.Clock.Now(), Result: string(rep.Result)}
	if !rep.OK() {
		run.Error = rep.Errors[0]
	}
	p.state.LastRun = run
	if rep.Result == Succeeded {
		t := run.Time
		p.state.LastSuccess = &t
	}
	if c := p.state.Current; c != nil {
		r.Metrics.Expiry(r.stateKey(p.cred.Name), c.ExpiresAt)
	}
	if err := r.store().Save(ctx, p.cred.Name, p.state); err != nil {
		rep.Result = Failed
		rep.fail(Transient, "save state: %v", err)
		return
	}
	faultpoint.Hit(faultpoint.AfterPromoted)
}

// verifyNew pulls each verify image with the new credential, as a client that has only it. A
// missing tag (404) or a project policy's refusal after authorisation (412) prove the
// credential as well as a pull; they are reported as warnings.
func (r *Runner) verifyNew(ctx context.Context, p *plan, issued *state.Issued, rep *Report) error {
	t := r.Clock.Now()
	auth := authn.FromConfig(authn.AuthConfig{Username: issued.Username, Password: issued.Password})
	for i, img := range p.verifyImages {
		err := r.checker(p.cred.Name).PullCheckFresh(ctx, img, auth)
		switch {
		case err == nil:
		case verify.Authorised(err):
			rep.warn("verify image %s: %v (the credential was authorised, so it is proven)", img, err)
		default:
			return fmt.Errorf("verify the new credential %s: pull %s failed: %w", issued.Name, img, err)
		}
		rep.Verified = append(rep.Verified, img)
		r.progress(p.cred.Name, "verify", t, i+1, len(p.verifyImages), "pulled %s with the new credential", img)
	}
	return nil
}

// contentOf is what the managed Secrets hold for credential c.
func contentOf(p *plan, c *state.Issued) secretsync.Content {
	return secretsync.Content{Credential: p.cred.Name, Registry: p.registry, Username: c.Username,
		Password: c.Password, ID: c.ID, Name: c.Name, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt}
}
