package restart

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// AnnotationRestart on a workload (its own metadata, not its pod template) overrides the
// credential's restart policy for it: "never" or "always".
const AnnotationRestart = "rotator.dev/restart"

// The values of AnnotationRestart.
const (
	OverrideNever  = "never"
	OverrideAlways = "always"
)

// Need is what a workload's current pods say about whether a restart is needed for them to pull
// with the managed secret. Kubelet resolves spec.imagePullSecrets by name at every pull, so a
// pod that names the secret reads its new content at its next pull: no restart. A pod that lacks
// it (created before its ServiceAccount was bound: admission copies the ServiceAccount's pull
// secrets only into a pod created naming none) gets it only by being recreated; a pod failing
// to pull an image of the registry is retried by kubelet only after its back-off (up to 5 min).
type Need struct {
	// Pods is the number of current pods (not terminated, not being deleted).
	Pods int
	// Lacking are the current pods whose spec.imagePullSecrets does not name the secret, sorted.
	Lacking []string
	// Failing are the current pods with a container waiting in ErrImagePull or
	// ImagePullBackOff for an image of the registry, sorted; FailingImage is one such image.
	Failing      []string
	FailingImage string
}

// Needed reports whether some current pod lacks the secret or is failing to pull.
func (n Need) Needed() bool { return len(n.Lacking) > 0 || len(n.Failing) > 0 }

// PodsOf returns the pods of w's namespace its selector matches, as the controller itself
// selects them. A workload without a selector has no pods.
func PodsOf(w Workload, pods []corev1.Pod) ([]*corev1.Pod, error) {
	if w.selectorErr != nil {
		return nil, fmt.Errorf("%s: spec.selector: %w", w, w.selectorErr)
	}
	sel := w.Selector
	if sel == nil {
		return nil, nil
	}
	var out []*corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Namespace == w.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ForAssess is pod with only what Assess reads: its name, namespace, labels and deletion, its
// pull secrets, its containers' names and images, its phase and the waiting reasons of its
// containers. A run keeps the pods of every namespace it judges until it has decided, and a
// whole pod (managed fields, volumes, env, conditions) is several KB: at 10,000 namespaces the
// difference is the rotator's memory limit.
func ForAssess(pod *corev1.Pod) corev1.Pod {
	out := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels, DeletionTimestamp: pod.DeletionTimestamp},
		Spec: corev1.PodSpec{ImagePullSecrets: pod.Spec.ImagePullSecrets,
			InitContainers: imagesOnly(pod.Spec.InitContainers), Containers: imagesOnly(pod.Spec.Containers)},
		Status: corev1.PodStatus{Phase: pod.Status.Phase,
			InitContainerStatuses: waitingOnly(pod.Status.InitContainerStatuses), ContainerStatuses: waitingOnly(pod.Status.ContainerStatuses)}}
	return out
}

func imagesOnly(cs []corev1.Container) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image}
	}
	return out
}

func waitingOnly(st []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(st) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(st))
	for i, cs := range st {
		out[i] = corev1.ContainerStatus{Name: cs.Name, Image: cs.Image}
		if w := cs.State.Waiting; w != nil {
			out[i].State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason}
		}
	}
	return out
}

// Assess judges w's current pods among pods (those of its namespace, or more) for secretName.
// onRegistry says whether an image is one of the credential's registry (kubelet's key match).
func Assess(w Workload, pods []corev1.Pod, secretName string, onRegistry func(image string) bool) (Need, error) {
	mine, err := PodsOf(w, pods)
	if err != nil {
		return Need{}, err
	}
	var n Need
	for _, p := range mine {
		if !current(p) {
			continue
		}
		n.Pods++
		if !namesSecret(p, secretName) {
			n.Lacking = append(n.Lacking, p.Name)
		}
		if img := failingImage(p, onRegistry); img != "" {
			n.Failing = append(n.Failing, p.Name)
			if n.FailingImage == "" {
				n.FailingImage = img
			}
		}
	}
	sort.Strings(n.Lacking)
	sort.Strings(n.Failing)
	return n, nil
}

// current: the pod is one the workload runs now, not one on its way out or finished (an evicted
// pod stays Failed until it is collected).
func current(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func namesSecret(p *corev1.Pod, secretName string) bool {
	for _, ref := range p.Spec.ImagePullSecrets {
		if ref.Name == secretName {
			return true
		}
	}
	return false
}

// failingImage is the image of the registry some container of p cannot pull now, or "".
func failingImage(p *corev1.Pod, onRegistry func(string) bool) string {
	specImage := map[string]string{}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			specImage[c.Name] = c.Image
		}
	}
	for _, st := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range st {
			if cs.State.Waiting == nil || !pullFailureReasons[cs.State.Waiting.Reason] {
				continue
			}
			img := specImage[cs.Name]
			if img == "" {
				img = cs.Image
			}
			if img != "" && onRegistry(img) {
				return img
			}
		}
	}
	return ""
}

// desired is a spec.replicas as the controllers read it: unset means one.
func desired(replicas *int32) int32 {
	if replicas == nil {
		return 1
	}
	return *replicas
}
