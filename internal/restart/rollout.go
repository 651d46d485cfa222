package restart

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// progressDeadlineExceeded is the reason the Deployment controller puts on
// the Progressing condition when it gives up (kubectl's TimedOutReason).
const progressDeadlineExceeded = "ProgressDeadlineExceeded"

// rolloutState is one observation of a rollout. done means complete; msg
// says what is still awaited (it ends up in the timeout error); err is a
// terminal condition that waiting longer cannot fix.
type rolloutState struct {
	done bool
	msg  string
	err  error
}

// deploymentRollout decides completion as `kubectl rollout status` does
// (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go).
func deploymentRollout(d *appsv1.Deployment) rolloutState {
	if d.Status.ObservedGeneration < d.Generation {
		return notObserved(d.Generation, d.Status.ObservedGeneration)
	}
	// The condition is only trusted once the controller has seen the current
	// generation: a stale ProgressDeadlineExceeded from an earlier rollout is
	// reset when the controller picks up our template change.
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == progressDeadlineExceeded {
			return rolloutState{err: fmt.Errorf("%w (%s): %s", ErrProgressDeadline, progressDeadlineExceeded, c.Message)}
		}
	}
	want := replicas(d.Spec.Replicas)
	s := d.Status
	var st rolloutState
	switch {
	case s.UpdatedReplicas < want:
		st.msg = fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		st.msg = fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < s.UpdatedReplicas:
		st.msg = fmt.Sprintf("%d of %d updated replicas available", s.AvailableReplicas, s.UpdatedReplicas)
	default:
		return rolloutState{done: true, msg: fmt.Sprintf("%d replicas updated and available", s.UpdatedReplicas)}
	}
	// A paused Deployment does not create the new ReplicaSet, so waiting
	// would only end in a timeout.
	if d.Spec.Paused {
		st.err = fmt.Errorf("%w: deployment is paused (%s); resume it with `kubectl rollout resume`", ErrNotRollable, st.msg)
	}
	return st
}

// statefulSetRollout decides completion of a StatefulSet: every replica ready
// and on the update revision, and the controller has moved currentRevision to
// it (it does so only once the whole set is updated and ready).
func statefulSetRollout(s *appsv1.StatefulSet) rolloutState {
	if s.Status.ObservedGeneration < s.Generation {
		return notObserved(s.Generation, s.Status.ObservedGeneration)
	}
	want := replicas(s.Spec.Replicas)
	st := s.Status
	var r rolloutState
	switch {
	case st.UpdatedReplicas < want:
		r.msg = fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.ReadyReplicas < want:
		r.msg = fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)
	case st.CurrentRevision != st.UpdateRevision:
		r.msg = fmt.Sprintf("current revision %s not yet update revision %s", st.CurrentRevision, st.UpdateRevision)
	default:
		return rolloutState{done: true, msg: fmt.Sprintf("%d replicas at revision %s", st.UpdatedReplicas, st.UpdateRevision)}
	}

	// Strategies under which the controller never replaces some pods: report
	// it instead of waiting for a timeout.
	switch s.Spec.UpdateStrategy.Type {
	case appsv1.OnDeleteStatefulSetStrategyType:
		r.err = fmt.Errorf("%w: update strategy OnDelete replaces pods only when they are deleted (%s); delete them to pick up the pull secret", ErrNotRollable, r.msg)
		return r
	case appsv1.RecreateStatefulSetStrategyType:
		return r // Recreate replaces every pod; the checks above apply as they are.
	}
	// RollingUpdate (also the default when the type is empty). Pods with an
	// ordinal below the partition stay on the old revision by design. Wait
	// for the ones above it, then report the rest rather than hang.
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		p := *ru.Partition
		if st.UpdatedReplicas >= want-p && st.ReadyReplicas >= want {
			r.err = fmt.Errorf("%w: rollingUpdate.partition %d keeps ordinals below %d on the old revision (%s); lower the partition to roll them",
				ErrNotRollable, p, p, r.msg)
		}
	}
	return r
}

// daemonSetRollout decides completion as `kubectl rollout status` does.
func daemonSetRollout(d *appsv1.DaemonSet) rolloutState {
	if d.Status.ObservedGeneration < d.Generation {
		return notObserved(d.Generation, d.Status.ObservedGeneration)
	}
	s := d.Status
	var r rolloutState
	switch {
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled:
		r.msg = fmt.Sprintf("%d of %d pods updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)
	case s.NumberAvailable < s.DesiredNumberScheduled:
		r.msg = fmt.Sprintf("%d of %d updated pods available", s.NumberAvailable, s.DesiredNumberScheduled)
	default:
		return rolloutState{done: true, msg: fmt.Sprintf("%d pods updated and available", s.DesiredNumberScheduled)}
	}
	if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		r.err = fmt.Errorf("%w: update strategy OnDelete replaces pods only when they are deleted (%s); delete them to pick up the pull secret", ErrNotRollable, r.msg)
	}
	return r
}

func notObserved(gen, observed int64) rolloutState {
	return rolloutState{msg: fmt.Sprintf("controller has not observed generation %d (observed %d)", gen, observed)}
}

// replicas reads spec.replicas; the API server defaults nil to 1.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// fatalGetError: errors that no amount of waiting fixes. Missing RBAC (or a
// namespace gone) must end the wait at once rather than run into the timeout.
func fatalGetError(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}

// shortDuration prints 5m rather than 5m0s, as people write timeouts.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
