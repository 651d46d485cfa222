package nodesim

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestUnschedulableReason(t *testing.T) {
	node := func(mut func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "sim-node", Labels: map[string]string{
			corev1.LabelHostname: "sim-node", corev1.LabelOSStable: "linux", "tier": "3",
		}}}
		if mut != nil {
			mut(n)
		}
		return n
	}
	pod := func(mut func(*corev1.PodSpec)) *corev1.Pod {
		p := newPod("p", "")
		if mut != nil {
			mut(&p.Spec)
		}
		return p
	}
	affinity := func(terms ...corev1.NodeSelectorTerm) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
			}}
		}
	}
	expr := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	cordoned := func(n *corev1.Node) { n.Spec.Unschedulable = true }
	tainted := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}
	}
	// What the DaemonSet controller adds to its pods.
	dsTolerations := func(s *corev1.PodSpec) {
		s.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	}

	tests := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		fits bool
	}{
		{"plain pod", pod(nil), node(nil), true},
		{"other scheduler", pod(func(s *corev1.PodSpec) { s.SchedulerName = "custom" }), node(nil), false},
		{"default scheduler named", pod(func(s *corev1.PodSpec) { s.SchedulerName = corev1.DefaultSchedulerName }), node(nil), true},
		{"scheduling gate", pod(func(s *corev1.PodSpec) { s.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}} }), node(nil), false},
		{"nodeSelector matches", pod(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{corev1.LabelOSStable: "linux"} }), node(nil), true},
		{"nodeSelector differs", pod(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{corev1.LabelOSStable: "windows"} }), node(nil), false},
		{"daemonset affinity here", pod(affinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpIn, "sim-node")}})), node(nil), true},
		{"daemonset affinity elsewhere", pod(affinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpIn, "other")}})), node(nil), false},
		{"NotIn name", pod(affinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpNotIn, "sim-node")}})), node(nil), false},
		{"terms are ORed", pod(affinity(
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{expr("zone", corev1.NodeSelectorOpExists)}},
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{expr("tier", corev1.NodeSelectorOpGt, "2")}},
		)), node(nil), true},
		{"expressions are ANDed", pod(affinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			expr(corev1.LabelOSStable, corev1.NodeSelectorOpIn, "linux"), expr("tier", corev1.NodeSelectorOpLt, "3"),
		}})), node(nil), false},
		{"empty term matches nothing", pod(affinity(corev1.NodeSelectorTerm{})), node(nil), false},
		{"cordoned", pod(nil), node(cordoned), false},
		{"cordoned, daemonset tolerates", pod(dsTolerations), node(cordoned), true},
		{"untolerated taint", pod(nil), node(tainted), false},
		{"tolerated taint", pod(func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "x"}}
		}), node(tainted), true},
		{"PreferNoSchedule taint", pod(nil), node(func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}}
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := unschedulableReason(tt.pod, tt.node)
			if (why == "") != tt.fits {
				t.Errorf("unschedulableReason = %q, want fits=%v", why, tt.fits)
			}
		})
	}
}
