package rotation

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// rollback puts the previous, still valid credential back into every target after the new one
// turned out unable to pull a dependent workload's image (verify as kubelet), before any
// workload was restarted with it. The new credential is retired (revoked after the grace
// period, like any replaced one) and the run fails, saying why.
func (r *Runner) rollback(ctx context.Context, p *plan, issued *state.Issued, rep *Report) {
	st := p.state
	prev := st.Current
	content := secretsync.Content{Credential: p.cred.Name, Registry: p.registry, Username: prev.Username,
		Password: prev.Password, ID: prev.ID, Name: prev.Name, IssuedAt: prev.IssuedAt, ExpiresAt: prev.ExpiresAt}
	rep.fail("rolled back to the previous credential %s: the new credential %s cannot pull the images of some dependent workloads (see above); check the credential's projects and the workloads' images", prev.Name, issued.Name)
	before := len(rep.Secrets)
	// The plan's copies of the Secrets predate this run's writes: make the writer read them again.
	p.secrets = map[string]*corev1.Secret{}
	r.writeSecrets(ctx, p, content, prev.Fingerprint, rep)
	// Keep the report's per-namespace list about the final content: the rollback's results.
	rep.Secrets = append(rep.Secrets[:0], rep.Secrets[before:]...)
	now := r.Clock.Now()
	st.Retired = append(st.Retired, state.Retired{ID: issued.ID, Name: issued.Name, RetiredAt: now, RevokeAt: now.Add(p.cred.RevokeAfter.Duration)})
	st.Pending = nil
	rep.Issued = nil
	rep.RolledBack = &CredentialRef{ID: issued.ID, Name: issued.Name, Reason: "cannot pull dependent images; revoked after the grace period"}
	r.progress(p.cred.Name, "rollback", now, 0, 0, "previous credential %s put back; %s retired", prev.Name, issued.Name)
	r.finish(ctx, p, rep, true)
}
