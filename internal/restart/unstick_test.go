package restart

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func TestReplaceStuckPodsDeletesOnlyOldRevisionPodsThatCannotPull(t *testing.T) {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", UID: types.UID("sts-uid")},
		Spec:       appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
		Status:     appsv1.StatefulSetStatus{UpdateRevision: "new"},
	}
	pod := func(name, rev, waiting string, ready bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", UID: types.UID(name),
			Labels:          map[string]string{"app": "db", appsv1.ControllerRevisionHashLabelKey: rev},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		}}
		if waiting != "" {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}}}}
		}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		return p
	}
	c := fake.NewClientset(sts,
		pod("db-0", "old", "ImagePullBackOff", false), // stuck, old: replaced
		pod("db-1", "old", "", true),                  // healthy old: the controller rolls it
		pod("db-2", "new", "ErrImagePull", false),     // already the new revision: left alone
		pod("db-3", "old", "CrashLoopBackOff", false), // not a pull failure: left alone
	)
	r := (&Restarter{Client: c}).withDefaults()
	if err := r.replaceStuckPods(context.Background(), Workload{Kind: KindStatefulSet, Namespace: "ns", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	left, _ := c.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	var names []string
	for _, p := range left.Items {
		names = append(names, p.Name)
	}
	if len(names) != 3 || names[0] != "db-1" {
		t.Fatalf("pods left: %v, want db-1 db-2 db-3", names)
	}
}
