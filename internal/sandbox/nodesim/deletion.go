package nodesim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// finishDeletion completes the graceful deletion of a pod on this node, as kubelet does once its
// containers stopped: without it the pod stays Terminating forever and no Deployment,
// StatefulSet or DaemonSet rollout can proceed. Nothing runs, so there is nothing to wait for.
func (s *Simulator) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.UID
	err := s.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		// Never delete a pod recreated under the same name meanwhile.
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err := ignoreGone(err); err != nil {
		return fmt.Errorf("delete pod: %w", err)
	}
	if err == nil {
		s.log.Info("pod deleted", "pod", podKey(pod))
	}
	return nil
}
