package nodesim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// errPodReplaced ends a status write when the pod was deleted and recreated under its name.
var errPodReplaced = errors.New("pod was replaced by a new one")

// writeStatus reports st as pod's status, retrying on conflict with a fresh copy of the pod.
// Nothing is written when the status already says it, so the simulator's own updates coming back
// through the informer settle instead of looping.
func (s *Simulator) writeStatus(ctx context.Context, pod *corev1.Pod, st *podState) error {
	pods := s.client.CoreV1().Pods(pod.Namespace)
	cur, fresh := pod, false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if fresh {
			got, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got.UID != pod.UID {
				return errPodReplaced
			}
			cur = got
		}
		fresh = true // any retry re-reads: the cached copy was stale
		want := s.podStatus(cur, st)
		if apiequality.Semantic.DeepEqual(&cur.Status, want) {
			return nil
		}
		// The copy is the result of our last write, and we would write the same again: the API
		// server normalised part of it. Writing once more would never converge.
		if st.lastWritten != nil && cur.ResourceVersion == st.lastWrittenRV && apiequality.Semantic.DeepEqual(st.lastWritten, want) {
			return nil
		}
		upd := cur.DeepCopy()
		upd.Status = *want
		got, err := pods.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		st.lastWritten, st.lastWrittenRV = want, got.ResourceVersion
		s.log.Debug("pod status written", "pod", podKey(pod), "phase", want.Phase)
		return nil
	})
	if apierrors.IsNotFound(err) || errors.Is(err, errPodReplaced) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update pod status: %w", err)
	}
	return nil
}

// podStatus is the status kubelet would report for pod given st. Fields kubelet does not own
// (QOS class, conditions of other writers such as readiness gates) are kept from pod.
func (s *Simulator) podStatus(pod *corev1.Pod, st *podState) *corev1.PodStatus {
	now := metav1.NewTime(s.clock.Now()).Rfc3339Copy()
	out := pod.Status.DeepCopy()
	out.HostIP, out.HostIPs = nodeIP, []corev1.HostIP{{IP: nodeIP}}
	out.PodIP, out.PodIPs = st.podIP, []corev1.PodIP{{IP: st.podIP}}
	if out.StartTime == nil {
		out.StartTime = ptr.To(st.startTime)
	}

	var pendingInit, unready []string
	out.InitContainerStatuses = nil
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := st.container(c.Name)
		out.InitContainerStatuses = append(out.InitContainerStatuses, containerStatus(pod, c, cs, true))
		if !cs.started() {
			pendingInit = append(pendingInit, c.Name)
		}
	}
	out.ContainerStatuses = nil
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := st.container(c.Name)
		out.ContainerStatuses = append(out.ContainerStatuses, containerStatus(pod, c, cs, false))
		if !cs.started() {
			unready = append(unready, c.Name)
		}
	}

	// kubelet: Pending while any container has not started, Running once all have.
	out.Phase = corev1.PodPending
	if len(pendingInit) == 0 && len(unready) == 0 {
		out.Phase = corev1.PodRunning
	}

	conds := out.Conditions
	if podCondition(conds, corev1.PodScheduled) == nil {
		// The API server adds it on binding; kept here for pods created with nodeName set.
		conds = setPodCondition(conds, now, corev1.PodScheduled, corev1.ConditionTrue, "", "")
	}
	conds = setPodCondition(conds, now, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "")
	if len(pendingInit) == 0 {
		conds = setPodCondition(conds, now, corev1.PodInitialized, corev1.ConditionTrue, "", "")
	} else {
		conds = setPodCondition(conds, now, corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized",
			fmt.Sprintf("containers with incomplete status: %v", pendingInit))
	}
	if len(unready) == 0 {
		conds = setPodCondition(conds, now, corev1.ContainersReady, corev1.ConditionTrue, "", "")
		reason, msg := readinessGates(pod, conds)
		if reason == "" {
			conds = setPodCondition(conds, now, corev1.PodReady, corev1.ConditionTrue, "", "")
		} else {
			conds = setPodCondition(conds, now, corev1.PodReady, corev1.ConditionFalse, reason, msg)
		}
	} else {
		msg := fmt.Sprintf("containers with unready status: %v", unready)
		conds = setPodCondition(conds, now, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", msg)
		conds = setPodCondition(conds, now, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", msg)
	}
	out.Conditions = conds
	return out
}

// containerStatus reports one container: waiting with its reason, running, or, for an init
// container that is not a sidecar, completed.
func containerStatus(pod *corev1.Pod, c *corev1.Container, cs *containerState, isInit bool) corev1.ContainerStatus {
	out := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false)}
	sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	switch {
	case cs.started() && isInit && !sidecar:
		out.ContainerID = containerID(pod, c)
		out.Ready = true // kubelet reports a completed init container ready
		out.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: cs.startedAt, FinishedAt: cs.startedAt, ContainerID: out.ContainerID,
		}
	case cs.started():
		out.ContainerID = containerID(pod, c)
		out.Ready, out.Started = true, ptr.To(true)
		out.State.Running = &corev1.ContainerStateRunning{StartedAt: cs.startedAt}
	case cs.waiting != nil:
		out.State.Waiting = cs.waiting.DeepCopy()
	default:
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	return out
}

// containerID is stable per pod and container, and says it comes from no real runtime.
func containerID(pod *corev1.Pod, c *corev1.Container) string {
	sum := sha256.Sum256([]byte(string(pod.UID) + "/" + c.Name))
	return "nodesim://" + hex.EncodeToString(sum[:])
}

// readinessGates returns kubelet's reason and message when a readiness gate holds Ready back.
func readinessGates(pod *corev1.Pod, conds []corev1.PodCondition) (reason, msg string) {
	for _, g := range pod.Spec.ReadinessGates {
		c := podCondition(conds, g.ConditionType)
		switch {
		case c == nil:
			return "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType)
		case c.Status != corev1.ConditionTrue:
			return "ReadinessGatesNotReady", fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, c.Status)
		}
	}
	return "", ""
}

func podCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setPodCondition sets a condition in place or appends it; its transition time moves only when
// its status changes, so rewriting an unchanged status is a no-op.
func setPodCondition(conds []corev1.PodCondition, now metav1.Time, t corev1.PodConditionType, status corev1.ConditionStatus, reason, msg string) []corev1.PodCondition {
	want := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: now}
	if c := podCondition(conds, t); c != nil {
		if c.Status == status {
			want.LastTransitionTime = c.LastTransitionTime
			want.LastProbeTime = c.LastProbeTime
			want.ObservedGeneration = c.ObservedGeneration
		}
		*c = want
		return conds
	}
	return append(conds, want)
}
