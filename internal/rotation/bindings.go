package rotation

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/bindguard"
	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// bindResult is one binding of a ServiceAccount that lacked the entry. held is set when the
// rotator did not bind on purpose: its owner keeps removing the entry (Runner.Bindings); it
// says so, with the fix. gaveUp: this call is the one that gave up (report it once).
type bindResult struct {
	changed bool
	held    string
	gaveUp  bool
}

// bindGuarded binds sa (which lacks the entry) unless Bindings says its owner fights it. A
// binding given up is not an error: pods that name the Secret themselves keep pulling, and the
// Secret's name never changes, so it holds back no revocation (a run's revocation checks what the
// Secrets hold, never the ServiceAccounts).
func (r *Runner) bindGuarded(ctx context.Context, cred *config.Credential, ns, name string, sa *corev1.ServiceAccount) (bindResult, error) {
	k := bindguard.Key{Namespace: ns, ServiceAccount: name, Secret: cred.Targets.SecretName}
	d := r.Bindings.Check(k, sa)
	switch d.Verdict {
	case bindguard.GivenUp:
		return bindResult{held: conflictMessage(k, d)}, nil
	case bindguard.GiveUp:
		if d.Manager == "" {
			// The controller's cache drops managedFields; one read per give-up names the owner.
			if fresh, err := r.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				d.Manager = r.Bindings.Remover(fresh)
			}
		}
		msg := conflictMessage(k, d)
		r.Events.Warning(ctx, events.ServiceAccount(ns, name).WithUID(sa.UID), events.ReasonBindingConflict, "%s", msg)
		r.Metrics.BindingConflict(cred.Name, r.Bindings.GivenUp())
		return bindResult{held: msg, gaveUp: true}, nil
	}
	changed, from, err := secretsync.BindFrom(ctx, r.Kube, ns, name, cred.Targets.SecretName, sa)
	if err != nil {
		return bindResult{}, err
	}
	r.Bindings.Added(k, sa, from)
	return bindResult{changed: changed}, nil
}

// bindingPresent tells Bindings that sa holds the entry; a binding given up that someone else
// restored (the owner's manifest has the entry now) is reported resolved.
func (r *Runner) bindingPresent(ctx context.Context, cred *config.Credential, ns, name string, sa *corev1.ServiceAccount) {
	k := bindguard.Key{Namespace: ns, ServiceAccount: name, Secret: cred.Targets.SecretName}
	if r.Bindings.Present(k, sa) {
		r.Events.Normal(ctx, events.ServiceAccount(ns, name).WithUID(sa.UID), events.ReasonBindingConflictResolved,
			"imagePullSecrets holds %s again, put there by its owner: no conflict any more", k.Secret)
		r.Metrics.BindingsGivenUp(r.Bindings.GivenUp())
	}
}

// conflictMessage names the ServiceAccount, who removes the entry, and the fixes
// (docs/gitops.md). It fits in an Event (1024 characters).
func conflictMessage(k bindguard.Key, d bindguard.Decision) string {
	who := d.Manager
	if who == "" {
		who = "another client"
	}
	return fmt.Sprintf("serviceaccount %s/%s: %s removed the entry %q from imagePullSecrets %d times within %s "+
		"(the API makes the list atomic: whoever applies it owns all of it); the rotator stops re-adding it until %s "+
		"or until the entry is back. Pods naming Secret %s themselves keep pulling. Fix: list {name: %s} in the "+
		"ServiceAccount's manifest (the name is the same after every rotation), or let the tool leave it: Argo CD "+
		"ignoreDifferences jqPathExpressions ['.imagePullSecrets[] | select(.name == \"%s\")'] or "+
		"managedFieldsManagers [rotator], with syncOptions RespectIgnoreDifferences=true; see docs/gitops.md for Flux and Helm",
		k.Namespace, k.ServiceAccount, who, k.Secret, d.Removals, d.Window, d.Until.UTC().Format(time.RFC3339),
		k.Secret, k.Secret, k.Secret)
}
