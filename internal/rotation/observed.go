package rotation

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Observed is what something already watching the cluster holds of the objects a plan reads:
// namespaces, the Secrets of a managed name and the ServiceAccounts of a configured name, in
// every namespace. `rotator run`'s namespace controller keeps exactly these in its informer
// caches (internal/controller), so a run of the service plans from them rather than listing them
// again: no second copy of every managed Secret in memory at 10,000 namespaces, and three paged
// lists fewer per run. `rotate now` has no caches and lists (Runner.Observed nil).
//
// The objects are the caches' own: a plan reads them and never changes them (secretsync.Writer
// updates a copy; bindings are JSON patches). A cache may lag the API server by the latency of a
// watch event; nothing a plan decides from it is unsafe for that: a write to a Secret changed in
// between is a conflict (read again and retried), one created in between an AlreadyExists (read
// and judged), and a credential is never revoked for a lag, since the only credential the rotator
// writes back that a lagging cache could miss is the current one (a rollback's), which no run
// revokes.
type Observed interface {
	// Namespaces are every namespace's metadata (name, UID, labels, deletion).
	Namespaces() []metav1.Object
	// Secrets are the Secrets named name in every namespace; false when name is not watched
	// (then the plan lists).
	Secrets(name string) ([]*corev1.Secret, bool)
	// ServiceAccounts are the ServiceAccounts named name in every namespace; false when name is
	// not watched.
	ServiceAccounts(name string) ([]*corev1.ServiceAccount, bool)
}
