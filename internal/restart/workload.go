// Package restart finds the workloads that pull with a given registry Secret,
// rolls those that need it at a pace the cluster can take, and replaces pods
// stuck pulling.
//
// Kubelet reads a pod's pull secrets by name at every pull, so a pod whose
// spec names the Secret (directly, or because the ServiceAccount admission
// plugin copied the ServiceAccount's imagePullSecrets into it at creation)
// pulls with the Secret's new content without a restart. A rollout is needed
// only for pods whose spec lacks the Secret (created before the binding); a
// pod stuck in ErrImagePull/ImagePullBackOff needs only to be recreated
// (Unstick), not its whole workload rolled.
//
// Restarts are paced (Pacer, shared by a process), bounded in flight
// (Restarter.Concurrency) and awaited by watch (watch.go), never by polling.
package restart

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Kind names a workload controller of the apps/v1 group.
type Kind string

// The kinds Discover lists and Restarter rolls. Jobs, CronJobs and bare pods
// are left out on purpose: they create new pods on their own schedule and
// have no rollout to trigger.
const (
	KindDeployment  Kind = "Deployment"
	KindStatefulSet Kind = "StatefulSet"
	KindDaemonSet   Kind = "DaemonSet"
)

// plural is the kind's resource as the API spells it: "deployments".
func (k Kind) plural() string { return strings.ToLower(string(k)) + "s" }

// resource is the RBAC resource name of the kind, as a Role must spell it.
func (k Kind) resource() string {
	switch k {
	case KindDeployment:
		return "deployments.apps"
	case KindStatefulSet:
		return "statefulsets.apps"
	case KindDaemonSet:
		return "daemonsets.apps"
	}
	return strings.ToLower(string(k))
}

// Workload is one controller whose pods depend on the pull secret.
type Workload struct {
	Kind      Kind
	Namespace string
	Name      string
	// UID of the workload, for its Events.
	UID types.UID
	// ServiceAccount is the pod template's serviceAccountName, "default" when
	// the template names none (that is the one admission assigns).
	ServiceAccount string
	// Images are the images of all init containers and containers of the
	// template, in that order, without duplicates.
	Images []string
	// Via says why the workload depends on the secret: "imagePullSecrets" when
	// the template names it, "serviceaccount/<name>" when it comes from the
	// ServiceAccount.
	Via string
	// Annotations are the pod template's rotator.dev/ annotations at discovery
	// time, so a caller can tell whether the workload already carries a restart
	// value.
	Annotations map[string]string
	// OtherPullSecrets are the template's imagePullSecrets other than the managed one: an image
	// the managed secret cannot pull may be pulled with one of them.
	OtherPullSecrets []string
	// Selector is the workload's spec.selector, compiled (nil: none): its pods are the pods of
	// its namespace it matches (see PodsOf). Compiled once at discovery, it is also a third of
	// the size of the decoded one, which a run keeps for every workload of every target; the
	// workloads of one discovery that select alike share one.
	Selector labels.Selector
	// selectorErr is why spec.selector does not compile (PodsOf reports it).
	selectorErr error
	// Replicas is the number of pods the workload asks for (a DaemonSet: the nodes it is
	// scheduled on), for choosing the smallest workloads as canaries.
	Replicas int32
	// RestartOverride is the workload's own annotation rotator.dev/restart ("never", "always"
	// or "" when absent), which overrides the credential's restart policy for it.
	RestartOverride string
}

// String names the workload the way errors and progress output do:
// "deployment ns/name".
func (w Workload) String() string {
	return fmt.Sprintf("%s %s/%s", strings.ToLower(string(w.Kind)), w.Namespace, w.Name)
}

// Sentinel errors a caller can branch on with errors.Is. The errors returned
// wrap them together with the workload's name and the observed state.
var (
	// ErrNotRollable: the workload's update strategy (OnDelete, a
	// StatefulSet partition) or a paused Deployment means changing the
	// template does not replace its pods; someone must act by hand.
	ErrNotRollable = errors.New("cannot be rolled automatically")
	// ErrProgressDeadline: the Deployment controller gave up on the rollout
	// (Progressing condition with reason ProgressDeadlineExceeded).
	ErrProgressDeadline = errors.New("rollout failed")
	// ErrRolloutTimeout: the rollout did not complete within Restarter.Timeout.
	ErrRolloutTimeout = errors.New("rollout not complete")
)

// apiError wraps an API error with the workload's name and, for the two
// errors an operator most often has to fix by hand, says what to fix:
// Forbidden names the missing RBAC verb and resource, NotFound says the
// object went away.
func apiError(what string, kind Kind, namespace, verb string, err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: forbidden: RBAC must allow verb %q on %q in namespace %q: %w",
			what, verb, kind.resource(), namespace, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: not found (deleted meanwhile?): %w", what, err)
	}
	return fmt.Errorf("%s: %s: %w", what, verb, err)
}
