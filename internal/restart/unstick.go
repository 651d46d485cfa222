package restart

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pullFailureReasons are the container waiting reasons of a pod whose image cannot be pulled.
var pullFailureReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true}

// replaceStuckPods deletes the StatefulSet's pods that belong to an old revision and cannot
// start because their image cannot be pulled. During a rolling update the StatefulSet
// controller never replaces a pod that is not Running and Ready (the "forced rollback" case of
// the Kubernetes docs), so a StatefulSet broken by a missing credential would stay broken after
// the credential is fixed. Such a pod serves nothing, so deleting it loses nothing; the
// controller recreates it from the new template.
func (r *Restarter) replaceStuckPods(ctx context.Context, w Workload) error {
	s, err := r.Client.AppsV1().StatefulSets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	if err != nil {
		return apiError(w.String(), w.Kind, w.Namespace, "get", err)
	}
	if s.Status.UpdateRevision == "" || s.Spec.Selector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil {
		return fmt.Errorf("%s: selector: %w", w, err)
	}
	pods, err := r.Client.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return fmt.Errorf("%s: list its pods to replace those stuck pulling (RBAC must allow list and delete on pods): %w", w, err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if !ownedBy(p, s) || p.DeletionTimestamp != nil || p.Labels[appsv1.ControllerRevisionHashLabelKey] == s.Status.UpdateRevision || !stuckPulling(p) {
			continue
		}
		uid := p.UID
		err := r.Client.CoreV1().Pods(w.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("%s: delete pod %s stuck pulling its image: %w", w, p.Name, err)
		}
	}
	return nil
}

func ownedBy(p *corev1.Pod, s *appsv1.StatefulSet) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == s.UID
}

// stuckPulling: some container waits because its image cannot be pulled, and the pod is not Ready.
func stuckPulling(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return false
		}
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if cs.State.Waiting != nil && pullFailureReasons[cs.State.Waiting.Reason] {
			return true
		}
	}
	return false
}
