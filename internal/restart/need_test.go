package restart

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestAssess(t *testing.T) {
	w := Workload{Kind: KindDeployment, Namespace: "a", Name: "web",
		Selector: labels.SelectorFromSet(labels.Set{"app": "web"})}
	onRegistry := func(img string) bool { return strings.HasPrefix(img, "reg.example.com/") }
	pod := func(name string, mut func(*corev1.Pod)) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: name, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
				Containers: []corev1.Container{{Name: "app", Image: "reg.example.com/team/app:1"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if mut != nil {
			mut(&p)
		}
		return p
	}
	waiting := func(reason, image string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = image
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}
		}
	}
	for _, tc := range []struct {
		name             string
		pods             []corev1.Pod
		want             bool
		lacking, failing []string
		count            int
	}{
		{name: "bound pods need nothing", pods: []corev1.Pod{pod("p1", nil), pod("p2", nil)}, count: 2},
		{name: "no pods", pods: nil},
		{name: "a pod created before the binding lacks the secret", pods: []corev1.Pod{pod("p1", nil), pod("p2", func(p *corev1.Pod) { p.Spec.ImagePullSecrets = nil })},
			want: true, lacking: []string{"p2"}, count: 2},
		{name: "ImagePullBackOff on the registry", pods: []corev1.Pod{pod("p1", waiting("ImagePullBackOff", "reg.example.com/team/app:1"))},
			want: true, failing: []string{"p1"}, count: 1},
		{name: "ErrImagePull on the registry", pods: []corev1.Pod{pod("p1", waiting("ErrImagePull", "reg.example.com/team/app:1"))},
			want: true, failing: []string{"p1"}, count: 1},
		{name: "failing on another registry is not ours", pods: []corev1.Pod{pod("p1", waiting("ImagePullBackOff", "docker.io/library/nginx"))}, count: 1},
		{name: "other waiting reasons are not pull failures", pods: []corev1.Pod{pod("p1", waiting("CrashLoopBackOff", "reg.example.com/team/app:1"))}, count: 1},
		{name: "other workloads' pods and other namespaces do not count", pods: []corev1.Pod{
			pod("x", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "db"}; p.Spec.ImagePullSecrets = nil }),
			pod("y", func(p *corev1.Pod) { p.Namespace = "b"; p.Spec.ImagePullSecrets = nil }),
		}},
		{name: "finished and terminating pods are not current", pods: []corev1.Pod{
			pod("done", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Spec.ImagePullSecrets = nil }),
			pod("going", func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now; p.Spec.ImagePullSecrets = nil }),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A plan keeps its pods as ForAssess gives them: the judgement must not change.
			var slim []corev1.Pod
			for i := range tc.pods {
				slim = append(slim, ForAssess(&tc.pods[i]))
			}
			for _, pods := range [][]corev1.Pod{tc.pods, slim} {
				n, err := Assess(w, pods, "pull", onRegistry)
				if err != nil {
					t.Fatal(err)
				}
				if n.Needed() != tc.want || !slices.Equal(n.Lacking, tc.lacking) || !slices.Equal(n.Failing, tc.failing) || n.Pods != tc.count {
					t.Errorf("need %+v, want needed=%v lacking %v failing %v pods %d", n, tc.want, tc.lacking, tc.failing, tc.count)
				}
			}
		})
	}
	if _, err := PodsOf(Workload{Namespace: "a", Name: "x"}, []corev1.Pod{pod("p", nil)}); err != nil {
		t.Fatal(err)
	}
	if ps, _ := PodsOf(Workload{Namespace: "a", Name: "x"}, []corev1.Pod{pod("p", nil)}); len(ps) != 0 {
		t.Errorf("a workload without a selector has pods %v", ps)
	}
}
