package rotation

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/verify"
)

// rollback puts the previous credential back into every target after the new one turned out
// unable to pull a dependent image of the credential's own projects (check as kubelet), before
// any workload was restarted with it. Only to a previous credential that verifies now: putting
// back a dead one would break every namespace instead of some images. The new credential is
// retired (revoked after the grace period, once no target holds it) and the run fails, saying
// why. It reports whether it rolled back (false: the new credential stays and the run goes on).
func (r *Runner) rollback(ctx context.Context, p *plan, issued *state.Issued, rep *Report) bool {
	st := p.state
	prev := st.Current
	if prev == nil {
		return false
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: prev.Username, Password: prev.Password})
	for _, img := range p.verifyImages {
		if err := r.checker(p.cred.Name).PullCheck(ctx, img, auth); err != nil && !verify.Authorised(err) {
			rep.warn("no rollback to the previous credential %s: it does not verify either (%v); the new credential %s stays", prev.Name, err, issued.Name)
			return false
		}
	}
	rep.fail(Permanent, "rolled back to the previous credential %s: the new credential %s cannot pull the images of some dependent workloads (see above); check the credential's projects and the workloads' images", prev.Name, issued.Name)
	before := len(rep.Secrets)
	// The plan's copies of the Secrets predate this run's writes: make the writer read them again.
	p.secrets = map[string]*corev1.Secret{}
	r.writeSecrets(ctx, p, contentOf(p, prev), rep)
	// Keep the report's per-namespace list about the final content: the rollback's results.
	rep.Secrets = append(rep.Secrets[:0], rep.Secrets[before:]...)
	now := r.Clock.Now()
	st.RetireIssued(issued, now, now.Add(p.cred.RevokeAfter.Duration), "rolled back: cannot pull dependent images")
	st.Pending = nil
	rep.Issued = nil
	rep.RolledBack = &CredentialRef{ID: issued.ID, Name: issued.Name, Reason: "cannot pull dependent images; revoked after the grace period"}
	r.progress(p.cred.Name, "rollback", now, 0, 0, "previous credential %s put back; %s retired", prev.Name, issued.Name)
	r.finish(ctx, p, rep, true)
	return true
}
