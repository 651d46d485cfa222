package rotation

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// Rotate plans and, unless opts.DryRun, carries out the rotation of one credential. The report
// says what was done, target by target; Report.OK is false if any target is not done.
func (r *Runner) Rotate(ctx context.Context, cred *config.Credential, opts Options) *Report {
	start := r.Clock.Now()
	rep := &Report{Credential: cred.Name, Provider: cred.Provider, DryRun: opts.DryRun}
	defer func() {
		// Events may trail the writes (events.Recorder.Background): the run ends when they are
		// out, or dropped if ctx ended.
		r.Events.Flush(ctx)
		rep.Duration = r.Clock.Since(start)
		if !opts.DryRun && !rep.deferred { // a deferred run is counted when it is completed
			r.Metrics.Run(cred.Name, rep.Result, r.Clock.Now())
		}
	}()

	p, err := r.plan(ctx, cred, opts)
	if err != nil {
		rep.Result = "failed"
		rep.fail("plan: %v", err)
		return rep
	}
	rep.Registry, rep.Decision = p.registry, p.reason
	rep.Warnings = append(rep.Warnings, p.warnings...)
	rep.Errors = append(rep.Errors, p.problems...)
	r.progress(cred.Name, "plan", start, 0, 0, "%d namespaces, %d dependent workloads, %d to revoke: %s",
		len(p.namespaces), len(p.workloads), len(p.revoke), p.reason)

	if opts.DryRun {
		r.describePlan(p, rep)
		rep.Result = "planned"
		return rep
	}
	if p.idle() {
		// Nothing due: no lock, no write, not even to the state.
		rep.Result = "nothing-due"
		for _, ns := range p.namespaces {
			rep.Secrets = append(rep.Secrets, SecretResult{Namespace: ns, Name: cred.Targets.SecretName, Action: string(secretsync.Unchanged)})
		}
		return rep
	}
	run := ctx // the caller's ctx stays for the deferred Flush: it outlives the release
	if r.Lock != nil {
		held, release, err := r.Lock(ctx)
		if err != nil {
			rep.Result = "failed"
			rep.fail("%v", err)
			return rep
		}
		defer release()
		run = held // cancelled if the lock is lost: no write after that
		// Another process may have run while this one waited: decide again under the lock.
		if p, err = r.plan(run, cred, opts); err != nil {
			rep.Result = "failed"
			rep.fail("plan: %v", err)
			return rep
		}
		rep.Warnings, rep.Errors = append([]string(nil), p.warnings...), append([]string(nil), p.problems...)
		rep.Decision = p.reason
		if p.idle() {
			rep.Result = "nothing-due"
			return rep
		}
	}
	r.execute(run, p, rep)
	return rep
}

// execute carries out p. Each step records its outcome in rep; a step that makes later steps
// unsafe (a credential that fails verification) stops the run.
func (r *Runner) execute(ctx context.Context, p *plan, rep *Report) {
	st := p.state
	changed := false

	var issued *state.Issued
	switch p.decision {
	case issueNew:
		var ok bool
		if issued, ok = r.issue(ctx, p, rep); !ok {
			return
		}
		changed = true
	case resumePending:
		issued = st.Pending
		rep.Issued = &CredentialRef{ID: issued.ID, Name: issued.Name, ExpiresAt: issued.ExpiresAt}
	case repairOnly:
		issued = st.Current
	}
	content := secretsync.Content{Credential: p.cred.Name, Registry: p.registry, Username: issued.Username,
		Password: issued.Password, ID: issued.ID, Name: issued.Name, IssuedAt: issued.IssuedAt, ExpiresAt: issued.ExpiresAt}
	fp, err := content.Fingerprint()
	if err != nil {
		rep.fail("build the pull secret: %v", err)
		r.finish(ctx, p, rep, changed)
		return
	}
	issued.Fingerprint = fp

	// Verify before anyone depends on it: a manifest pull per verify image.
	if p.decision != repairOnly {
		if err := r.verifyNew(ctx, p, issued, rep); err != nil {
			rep.fail("%v", err)
			r.Events.Warning(ctx, r.stateObject(p), events.ReasonVerifyFailed, "%v", err)
			if p.decision == issueNew {
				r.revokeNew(ctx, p, issued, rep)
			}
			return
		}
	}

	faultpoint.Hit(faultpoint.AfterVerify)
	wrote := r.writeSecrets(ctx, p, content, fp, rep)
	bound := r.bindServiceAccounts(ctx, p, rep)
	faultpoint.Hit(faultpoint.AfterBind)
	changed = changed || wrote > 0 || bound > 0
	if p.decision != repairOnly || wrote > 0 {
		// Pulling is not free for the registry: a run that wrote nothing has nothing new to prove.
		if refused := r.verifyAsKubelet(ctx, p, rep); refused > 0 && p.decision != repairOnly && st.Current != nil {
			// Restarting now would break those workloads' new pods: put the previous credential back.
			r.rollback(ctx, p, issued, rep)
			return
		}
	}
	if p.deferRestart && p.decision != repairOnly && rep.OK() {
		rep.deferred = true
		r.finish(ctx, p, rep, true)
		return
	}
	restarted := r.restartWorkloads(ctx, p, fp, rep)
	changed = changed || restarted > 0

	if p.decision != repairOnly {
		if rep.OK() {
			now := r.Clock.Now()
			st.Promote(now, now.Add(p.cred.RevokeAfter.Duration))
			changed = true
			// With no grace period the replaced credential goes in this same run.
			for _, ret := range st.Retired {
				if !now.Before(ret.RevokeAt) && !p.revoking(ret.ID) {
					p.revoke = append(p.revoke, CredentialRef{ID: ret.ID, Name: ret.Name, Reason: "replaced; grace period ended"})
				}
			}
		} else {
			rep.fail("the new credential %s is not everywhere yet; the previous one stays valid and the next run resumes", issued.Name)
		}
	}
	changed = r.writeBack(ctx, p, rep) || changed
	if n := r.revoke(ctx, p, rep); n > 0 || p.clearIssuing {
		changed = true
	}
	r.finish(ctx, p, rep, changed)
}

// finish records the run in the state when it changed anything, and sets the result. A run
// with nothing due writes nothing at all, not even its own record.
func (r *Runner) finish(ctx context.Context, p *plan, rep *Report, changed bool) {
	switch {
	case !rep.OK():
		rep.Result = "failed"
	case changed:
		rep.Result = "succeeded"
	default:
		rep.Result = "nothing-due"
	}
	if !changed && rep.OK() {
		return
	}
	run := &state.Run{Time: r.Clock.Now(), Result: rep.Result}
	if !rep.OK() {
		run.Error = rep.Errors[0]
	}
	p.state.LastRun = run
	if c := p.state.Current; c != nil {
		r.Metrics.Expiry(p.cred.Name, c.ExpiresAt)
	}
	if err := r.store().Save(ctx, p.cred.Name, p.state); err != nil {
		rep.Result = "failed"
		rep.fail("save state: %v", err)
		return
	}
	faultpoint.Hit(faultpoint.AfterPromoted)
}

// verifyNew pulls each verify image with the new credential, as a client that has only it.
func (r *Runner) verifyNew(ctx context.Context, p *plan, issued *state.Issued, rep *Report) error {
	images := p.verifyImages()
	if len(images) == 0 {
		return fmt.Errorf("no image to verify the new credential with: set credentials[%s].verifyImages to an image in each project", p.cred.Name)
	}
	t := r.Clock.Now()
	auth := authn.FromConfig(authn.AuthConfig{Username: issued.Username, Password: issued.Password})
	for i, img := range images {
		if err := r.checker(p.cred.Name).PullCheck(ctx, img, auth); err != nil {
			return fmt.Errorf("verify the new credential %s: pull %s failed: %w; nothing was written", issued.Name, img, err)
		}
		rep.Verified = append(rep.Verified, img)
		r.progress(p.cred.Name, "verify", t, i+1, len(images), "pulled %s with the new credential", img)
	}
	return nil
}

// revokeNew deletes a credential this run issued and that must not be used, and forgets it.
func (r *Runner) revokeNew(ctx context.Context, p *plan, issued *state.Issued, rep *Report) {
	// A fresh context: the run's may be what was cancelled, and the credential must not leak.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.Providers[p.cred.Name].Revoke(cctx, p.spec, issued.ID); err != nil {
		rep.fail("delete the unverified credential %s (id %s): %v; the next run deletes it", issued.Name, issued.ID, err)
		return
	}
	rep.Revoked = append(rep.Revoked, CredentialRef{ID: issued.ID, Name: issued.Name, Reason: "failed verification"})
	rep.Issued = nil
	if p.state.Pending != nil && p.state.Pending.ID == issued.ID {
		p.state.Pending = nil
	}
	r.finish(cctx, p, rep, true)
}

func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
