package rotation

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/config"
)

// stuckPod creates a pod in ns controlled by a ReplicaSet, waiting in ImagePullBackOff on image.
func stuckPod(w *world, ns, name, image string) {
	w.t.Helper()
	ctrl := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "rs", Controller: &ctrl}}},
		Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}, Containers: []corev1.Container{{Name: "c", Image: image}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Image: image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}},
	}
	if _, err := w.kube.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func podExists(w *world, ns, name string) bool {
	_, err := w.kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		w.t.Fatal(err)
	}
	return err == nil
}

// Once the run has written a namespace's Secret, the pods of a controller stuck pulling from the
// registry there are deleted so they pull again at once; pods stuck on another registry stay,
// and restart.policy Never touches nothing.
func TestRotationUnsticksPodsOfTheRegistry(t *testing.T) {
	for _, tc := range []struct {
		name        string
		policy      config.RestartPolicy
		wantDeleted bool
	}{
		{"IfNeeded", config.RestartIfNeeded, true},
		{"Never", config.RestartNever, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "a")
			w.cred().Restart.Policy = tc.policy
			stuckPod(w, "a", "web-1-x", testImage)
			stuckPod(w, "a", "other-1-y", "quay.io/other/app:1")
			rep := w.rotate(Options{})
			must(t, rep, Succeeded)
			if got := !podExists(w, "a", "web-1-x"); got != tc.wantDeleted {
				t.Errorf("stuck pod of the registry deleted: %v, want %v (unstuck %+v)", got, tc.wantDeleted, rep.Unstuck)
			}
			if !podExists(w, "a", "other-1-y") {
				t.Error("a pod stuck on another registry was deleted")
			}
			if tc.wantDeleted && (len(rep.Unstuck) != 1 || !rep.Unstuck[0].Deleted || rep.Unstuck[0].Pod != "web-1-x") {
				t.Errorf("report: %+v", rep.Unstuck)
			}
		})
	}
}
