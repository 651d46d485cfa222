package nodesim

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// everything selects all objects of a lister.
var everything = labels.Everything()

// schedule plays the default scheduler for an unscheduled pod: if the pod may run on this node,
// bind it there through pods/binding, which is what sets spec.nodeName and PodScheduled.
func (s *Simulator) schedule(ctx context.Context, pod *corev1.Pod) error {
	if why := unschedulableReason(pod, s.currentNode()); why != "" {
		s.log.Debug("pod not scheduled here", "pod", podKey(pod), "reason", why)
		return nil
	}
	binding := &corev1.Binding{
		// The UID makes the API server refuse to bind a pod recreated under the same name.
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: s.nodeName},
	}
	if err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		// Gone, or bound by someone else meanwhile: nothing left to schedule.
		if ignoreGone(err) == nil {
			return nil
		}
		return fmt.Errorf("bind pod: %w", err)
	}
	s.log.Info("pod bound", "pod", podKey(pod))
	s.events.emit(ctx, pod, schedulerSource, "", corev1.EventTypeNormal, "Scheduled",
		fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, s.nodeName))
	return nil
}

// unschedulableReason says why the default scheduler would not put pod on node, or "" if it
// would. It checks what decides placement in a one-node sandbox: scheduler name, scheduling
// gates, cordon and taints, nodeSelector and required node affinity (how a DaemonSet pins its pod
// to one node). Resources are not checked: the node claims room for everything.
func unschedulableReason(pod *corev1.Pod, node *corev1.Node) string {
	if n := pod.Spec.SchedulerName; n != "" && n != corev1.DefaultSchedulerName {
		return fmt.Sprintf("left to scheduler %q", n)
	}
	if len(pod.Spec.SchedulingGates) > 0 {
		return "pod has scheduling gates"
	}
	taints := node.Spec.Taints
	if node.Spec.Unschedulable {
		taints = append(slices.Clip(taints), corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !slices.ContainsFunc(pod.Spec.Tolerations, func(tol corev1.Toleration) bool {
			return tol.ToleratesTaint(logr.Discard(), t, false)
		}) {
			return fmt.Sprintf("untolerated taint %s", t.ToString())
		}
	}
	if !labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return "nodeSelector does not match"
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		if req := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; req != nil && !nodeSelectorMatches(req, node) {
			return "required node affinity does not match"
		}
	}
	return ""
}

// nodeSelectorMatches reports whether node satisfies a required node affinity: any term (ORed)
// whose expressions on labels and fields all hold. A term without requirements matches nothing,
// and an invalid requirement fails its term, as in the scheduler.
func nodeSelectorMatches(sel *corev1.NodeSelector, node *corev1.Node) bool {
	for _, term := range sel.NodeSelectorTerms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue
		}
		if labelsMatch(term.MatchExpressions, node.Labels) && fieldsMatch(term.MatchFields, node) {
			return true
		}
	}
	return false
}

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

func labelsMatch(reqs []corev1.NodeSelectorRequirement, nodeLabels map[string]string) bool {
	for _, r := range reqs {
		op, ok := nodeSelectorOps[r.Operator]
		if !ok {
			return false
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil || !req.Matches(labels.Set(nodeLabels)) {
			return false
		}
	}
	return true
}

// fieldsMatch handles matchFields, where the API allows only metadata.name with In or NotIn;
// the DaemonSet controller writes exactly that.
func fieldsMatch(reqs []corev1.NodeSelectorRequirement, node *corev1.Node) bool {
	for _, r := range reqs {
		if r.Key != metav1.ObjectNameField {
			return false
		}
		in := slices.Contains(r.Values, node.Name)
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			if !in {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if in {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }
