package rotation

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// NamespaceView is what `rotator run`'s caches hold of one namespace, for one credential: the
// input of ReconcileNamespace, so that a reconcile with nothing to do sends no request at all.
type NamespaceView struct {
	Name string
	// Labels of the namespace; Exists is false when it is gone or being deleted.
	Labels map[string]string
	Exists bool
	// Secret is the Secret named targets.secretName in the namespace (nil: none), whoever wrote it.
	Secret *corev1.Secret
	// ServiceAccounts are the configured ServiceAccounts found in the namespace, by name.
	ServiceAccounts map[string]*corev1.ServiceAccount
	// State of the credential (nil: none saved yet).
	State *state.State
}

// NamespaceOutcome is what a namespace reconcile found or did.
type NamespaceOutcome string

// Namespace outcomes.
const (
	// NamespaceInSync: the Secret holds the current (or the pending) credential and every
	// configured ServiceAccount found is bound. Nothing was sent.
	NamespaceInSync NamespaceOutcome = "in-sync"
	// NamespaceRepaired: the Secret was written or a ServiceAccount bound.
	NamespaceRepaired NamespaceOutcome = "repaired"
	// NamespaceNotTarget: not a target (any more); with targets.prune nothing was left to remove.
	NamespaceNotTarget NamespaceOutcome = "not-target"
	// NamespacePruned: not a target any more, and targets.prune removed the Secret and bindings.
	NamespacePruned NamespaceOutcome = "pruned"
	// NamespaceWaiting: no credential is issued yet; the credential's first run writes it.
	NamespaceWaiting NamespaceOutcome = "waiting"
	// NamespaceFailed: a write failed (Err says which and what to do).
	NamespaceFailed NamespaceOutcome = "failed"
)

// NamespaceResult is one namespace reconcile.
type NamespaceResult struct {
	Credential, Namespace string
	Outcome               NamespaceOutcome
	// Secret is what was done to the managed Secret ("" when nothing).
	Secret secretsync.Action
	// Bound and Unbound are the ServiceAccounts changed.
	Bound, Unbound []string
	Err            error
	// Permanent: retrying without a change of the objects cannot help (a Secret of that name
	// that the rotator does not own, a namespace the rotator may not write to).
	Permanent bool
	// Conflicts are the bindings given up by this reconcile, in words: their owner keeps
	// removing the entry (Runner.Bindings). The namespace is otherwise in sync.
	Conflicts []string
}

// ReconcileNamespace makes one namespace hold what the credential's state says, with the same
// writes a run makes (secretsync.Writer, secretsync.Bind): the current credential in the managed
// Secret, the configured ServiceAccounts bound. It never issues, verifies, promotes or revokes:
// that is the run's, on the schedule and before expiry. A Secret that holds the pending
// credential is left as it is: a run in flight wrote it, and rewriting the current one would
// make that run's record of what each namespace holds (the revocation check) wrong.
//
// A namespace that is no target keeps what it has, unless targets.prune: then the managed Secret
// is deleted and unbound. It holds no credential back either way: a run asks only its targets.
func (r *Runner) ReconcileNamespace(ctx context.Context, cred *config.Credential, v NamespaceView) NamespaceResult {
	res := NamespaceResult{Credential: cred.Name, Namespace: v.Name}
	if !v.Exists || !cred.Targets.Selects(v.Name, v.Labels) {
		if !v.Exists || !cred.Targets.Prune {
			res.Outcome = NamespaceNotTarget
			return res
		}
		return r.prune(ctx, cred, v, res)
	}
	st := v.State
	if st == nil || st.Current == nil || st.Current.Password == "" {
		res.Outcome = NamespaceWaiting
		return res
	}
	registry, _, err := cred.Registry()
	if err != nil {
		res.Outcome, res.Err, res.Permanent = NamespaceFailed, fmt.Errorf("credential %s: registry host: %w", cred.Name, err), true
		return res
	}
	c := st.Current
	content := secretsync.Content{Credential: cred.Name, Registry: registry, Username: c.Username, Password: c.Password,
		ID: c.ID, Name: c.Name, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt}
	if !holdsPending(v.Secret, cred.Name, registry, st) {
		if err := r.repairSecret(ctx, cred, v, content, &res); err != nil {
			res.Outcome, res.Err = NamespaceFailed, err
			res.Permanent = errors.Is(err, secretsync.ErrNotManaged) || apierrors.IsForbidden(errors.Unwrap(err))
			return res
		}
	}
	for _, name := range cred.Targets.ServiceAccounts {
		sa := v.ServiceAccounts[name]
		if sa == nil {
			continue // a ServiceAccount created later is bound by the reconcile its creation starts
		}
		if secretsync.HasPullSecret(sa, cred.Targets.SecretName) {
			r.bindingPresent(ctx, cred, v.Name, name, sa)
			continue
		}
		b, err := r.bindGuarded(ctx, cred, v.Name, name, sa)
		if err != nil {
			res.Outcome, res.Err = NamespaceFailed, err
			return res
		}
		if b.changed {
			res.Bound = append(res.Bound, name)
		}
		if b.gaveUp {
			res.Conflicts = append(res.Conflicts, b.held)
		}
	}
	res.Outcome = NamespaceInSync
	if res.Secret != "" || len(res.Bound) > 0 {
		res.Outcome = NamespaceRepaired
	}
	return res
}

// repairSecret writes the current credential into the namespace's Secret unless it already holds
// it, with the rotator's labels. Which Secret is the rotator's is secretsync.Owner's rule: the
// credential id it carries, not its labels.
func (r *Runner) repairSecret(ctx context.Context, cred *config.Credential, v NamespaceView, content secretsync.Content, res *NamespaceResult) error {
	s := v.Secret
	// Write sends nothing for a Secret that is the rotator's and up to date (Unchanged).
	action, uid, err := (&secretsync.Writer{Client: r.Kube}).Write(ctx, v.Name, cred.Targets.SecretName, content, s, ownerOf(cred, v.State))
	obj := events.Secret(v.Name, cred.Targets.SecretName)
	if s != nil {
		obj = obj.WithUID(s.UID)
	}
	if uid != "" {
		obj = obj.WithUID(uid)
	}
	if err != nil {
		r.Events.Warning(ctx, obj, events.ReasonWriteFailed, "%v", err)
		return err
	}
	if action != secretsync.Unchanged {
		res.Secret = action
		r.Events.Normal(ctx, obj, events.ReasonRepaired, "restored with the current credential %s of %s", content.Name, cred.Name)
	}
	return nil
}

// holdsPending: the Secret holds, exactly, the credential a run in flight is distributing.
func holdsPending(s *corev1.Secret, credential, registry string, st *state.State) bool {
	p := st.Pending
	if s == nil || p == nil || p.Password == "" || !secretsync.IsManaged(s, credential) || s.Annotations[secretsync.AnnotationCredentialID] != p.ID {
		return false
	}
	fp, err := secretsync.Content{Registry: registry, Username: p.Username, Password: p.Password}.Fingerprint()
	return err == nil && secretsync.UpToDate(s, fp)
}

// prune removes the managed Secret of a namespace that stopped being a target, and its entry in
// the configured ServiceAccounts. A Secret the rotator did not write is never touched, whatever
// its labels say (secretsync.Owner).
func (r *Runner) prune(ctx context.Context, cred *config.Credential, v NamespaceView, res NamespaceResult) NamespaceResult {
	res.Outcome = NamespaceNotTarget
	name := cred.Targets.SecretName
	ours := v.Secret != nil && deletableBy(cred, v.State).Owns(v.Secret)
	for _, saName := range cred.Targets.ServiceAccounts {
		sa := v.ServiceAccounts[saName]
		if sa == nil || !secretsync.HasPullSecret(sa, name) || !ours {
			continue
		}
		changed, err := secretsync.Unbind(ctx, r.Kube, v.Name, saName, name, sa)
		if err != nil {
			res.Outcome, res.Err = NamespaceFailed, err
			return res
		}
		if changed {
			res.Unbound = append(res.Unbound, saName)
			res.Outcome = NamespacePruned
		}
	}
	if ours {
		uid := v.Secret.UID
		err := r.Kube.CoreV1().Secrets(v.Name).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			res.Outcome, res.Err = NamespaceFailed, fmt.Errorf("prune secret %s/%s (namespace %s is no target of %s any more): %w", v.Name, name, v.Name, cred.Name, err)
			return res
		}
		res.Secret, res.Outcome = "deleted", NamespacePruned
	}
	return res
}

// UnstickNamespace replaces the pods of the namespace stuck pulling from the credential's registry
// (restart.Restarter.Unstick), after a reconcile repaired it: a pod created before its
// ServiceAccount was bound carries no pull secret and never pulls, and one that failed waits up to
// five minutes of kubelet's back-off. restart.policy Never leaves pods alone.
func (r *Runner) UnstickNamespace(ctx context.Context, cred *config.Credential, ns string) ([]restart.UnstickResult, error) {
	if cred.Restart.Policy == config.RestartNever {
		return nil, nil
	}
	registry, _, err := cred.Registry()
	if err != nil {
		return nil, err
	}
	rs := &restart.Restarter{Client: r.Kube, Clock: r.Clock}
	return rs.Unstick(ctx, ns, registry, r.Config.Kubernetes.MaxUnstickPerRun)
}
