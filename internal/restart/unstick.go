package restart

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pullFailureReasons are the container waiting reasons of a pod whose image cannot be pulled.
var pullFailureReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true}

// recreatingOwners are the controllers that create a pod again when it is deleted, by the kind
// of the pod's controller reference (a Deployment's pods are owned by its ReplicaSet). Jobs are
// left out: a deleted Job pod counts against the Job's backoffLimit.
var recreatingOwners = map[string]bool{"ReplicaSet": true, "StatefulSet": true, "DaemonSet": true}

// UnstickResult is one pod found stuck pulling an image of the registry.
type UnstickResult struct {
	Namespace, Pod string
	// Owner is the controller that recreates it, "replicaset/web-5f9c"; empty for a bare pod.
	Owner string
	// Image is the image it cannot pull, and Reason the waiting reason (ErrImagePull,
	// ImagePullBackOff).
	Image, Reason string
	// Deleted: the pod was deleted, so its controller creates it again and the new pod pulls at
	// once rather than after up to five minutes of kubelet's back-off.
	Deleted bool
	// Skipped says why a stuck pod was left: "bare pod (no controller recreates it)", "limit of N
	// per run reached". Empty when Deleted.
	Skipped string
	// Err is the failure of the delete (Forbidden names the RBAC to grant).
	Err error
}

// String is one line for logs and the report.
func (u UnstickResult) String() string {
	switch {
	case u.Err != nil:
		return fmt.Sprintf("pod %s/%s stuck pulling %s: delete failed: %v", u.Namespace, u.Pod, u.Image, u.Err)
	case u.Deleted:
		return fmt.Sprintf("pod %s/%s stuck pulling %s (%s): deleted, %s recreates it", u.Namespace, u.Pod, u.Image, u.Reason, u.Owner)
	}
	return fmt.Sprintf("pod %s/%s stuck pulling %s (%s): left, %s", u.Namespace, u.Pod, u.Image, u.Reason, u.Skipped)
}

// Unstick deletes, after a pull secret was written or repaired, the pods of namespace that are
// stuck pulling an image of registryHost, so that their controller recreates them and they pull
// with the secret as it is now. Kubelet would retry by itself, but only after a back-off of up to
// five minutes; and a StatefulSet's rolling update never replaces a pod that is not Ready, so a
// set broken by a missing credential would stay broken.
//
// At most max pods are deleted (max <= 0 deletes none and only reports). A pod is deleted only
// when all of these hold: a ReplicaSet, StatefulSet or DaemonSet controls it (never a bare pod,
// which nothing would recreate); it is not Ready and some container waits with ErrImagePull or
// ImagePullBackOff (never a pod that is not failing); and that container's image is on
// registryHost (a pod failing on another registry is not ours to fix). Such a pod serves nothing,
// so deleting it loses nothing. The delete carries the pod's UID as precondition, so a pod
// recreated meanwhile under the same name (a StatefulSet's) is left alone.
//
// The caller must have bound the ServiceAccounts first: a recreated pod gets the SA's
// imagePullSecrets only at creation. It needs list and delete on pods in namespace. The results
// list every stuck pod of the registry, deleted or not, sorted by name; the error is the LIST's.
func (r *Restarter) Unstick(ctx context.Context, namespace, registryHost string, max int) ([]UnstickResult, error) {
	if r.Client == nil {
		return nil, fmt.Errorf("unstick pods in namespace %s: no Kubernetes client configured", namespace)
	}
	var items []corev1.Pod
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		pods, err := r.Client.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list pods in namespace %s to replace those stuck pulling from %s (RBAC must allow list and delete on pods): %w",
				namespace, registryHost, err)
		}
		// Only the pods stuck on the registry are kept: the page is dropped after this.
		for i := range pods.Items {
			if _, _, ok := stuckOn(&pods.Items[i], registryHost); ok {
				items = append(items, pods.Items[i])
			}
		}
		if pods.Continue == "" {
			break
		}
		opts.Continue = pods.Continue
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	var out []UnstickResult
	deleted := 0
	for i := range items {
		p := &items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		image, reason, ok := stuckOn(p, registryHost)
		if !ok {
			continue
		}
		res := UnstickResult{Namespace: namespace, Pod: p.Name, Image: image, Reason: reason}
		ref := metav1.GetControllerOf(p)
		switch {
		case ref == nil || !recreatingOwners[ref.Kind] || !strings.HasPrefix(ref.APIVersion, "apps/"):
			res.Skipped = "bare pod (no ReplicaSet, StatefulSet or DaemonSet recreates it); delete it by hand"
		case deleted >= max:
			res.Owner = strings.ToLower(ref.Kind) + "/" + ref.Name
			res.Skipped = fmt.Sprintf("limit of %d per run reached; kubelet retries it within five minutes", max)
		default:
			res.Owner = strings.ToLower(ref.Kind) + "/" + ref.Name
			uid := p.UID
			err := r.Client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			switch {
			case err == nil:
				res.Deleted = true
				deleted++
			case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
				res.Skipped = "gone or recreated meanwhile"
			default:
				res.Err = apiError("pod "+namespace+"/"+p.Name, "pods", namespace, "delete", err)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// stuckOn reports the first container of p that waits because it cannot pull an image of
// registryHost, provided the pod is not Ready.
func stuckOn(p *corev1.Pod, registryHost string) (image, reason string, ok bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return "", "", false
		}
	}
	images := map[string]string{}
	for _, c := range p.Spec.InitContainers {
		images[c.Name] = c.Image
	}
	for _, c := range p.Spec.Containers {
		images[c.Name] = c.Image
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if cs.State.Waiting == nil || !pullFailureReasons[cs.State.Waiting.Reason] {
			continue
		}
		img := images[cs.Name]
		if img == "" {
			img = cs.Image
		}
		if imageHost(img) == registryHost {
			return img, cs.State.Waiting.Reason, true
		}
	}
	return "", "", false
}

// imageHost is the registry part of an image reference, as the container runtime reads it: the
// first path component when it looks like a host (has a dot or a port, or is localhost), else
// Docker Hub.
func imageHost(image string) string {
	first, _, found := strings.Cut(image, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return "docker.io"
	}
	return first
}
