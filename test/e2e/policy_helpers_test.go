//go:build integration

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/rotation"
)

// restartPolicy adds restart.policy to a credential's YAML (which has a "  restart:" section);
// "" leaves the default (IfNeeded).
func restartPolicy(policy, credYAML string) string {
	if policy == "" {
		return credYAML
	}
	return strings.Replace(credYAML, "  restart:\n", "  restart:\n    policy: "+policy+"\n", 1)
}

// assertRepulls deletes every pod of Deployment app in ns and waits until the Deployment is
// available again with new pods: the node simulator runs a pod only after really pulling its
// image with the pod's own pull secrets, read by name now, as kubelet does. So it proves that
// pods of the workload pull with what the secret holds now, without the rotator restarting it.
func assertRepulls(t *testing.T, ns, app string) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app=" + app}
	pods, err := rig.Admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	old := map[types.UID]bool{}
	for _, p := range pods.Items {
		old[p.UID] = true
		if err := rig.Admin.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
			t.Fatal(err)
		}
	}
	if len(old) == 0 {
		t.Fatalf("deployment %s/%s has no pod to delete", ns, app)
	}
	eventually(t, 90*time.Second, "deployment "+ns+"/"+app+" back with new pods that pulled", func() (bool, string) {
		pods, err := rig.Admin.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return false, err.Error()
		}
		fresh := 0
		var states []string
		for _, p := range pods.Items {
			if old[p.UID] || p.DeletionTimestamp != nil {
				continue
			}
			states = append(states, fmt.Sprintf("%s %s %s", p.Name, p.Status.Phase, waitingReason(&p)))
			if p.Status.Phase == corev1.PodRunning {
				fresh++
			}
		}
		if fresh == 0 {
			return false, "new pods: " + strings.Join(states, "; ")
		}
		return deploymentAvailable(ns, app)
	})
}

func waitingReason(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return ""
}

// workloadReasons are "namespace/name:action:reason" of a report's workloads.
func workloadReasons(ws []rotation.WorkloadResult) map[string]string {
	out := map[string]string{}
	for _, w := range ws {
		out[w.Namespace+"/"+w.Name] = w.Action + ":" + string(w.Reason)
	}
	return out
}
