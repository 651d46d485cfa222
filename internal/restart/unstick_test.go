package restart

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const registry = "reg.example.com"

// stuckPod builds a pod of ns: owner is "ReplicaSet/web-5f", "StatefulSet/db", "Job/x" or ""
// (bare); waiting is the app container's waiting reason ("" for running); ready its Ready
// condition.
func stuckPod(name, owner, image, waiting string, ready bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
	if kind, oname, ok := strings.Cut(owner, "/"); ok {
		api := "apps/v1"
		if kind == "Job" {
			api = "batch/v1"
		}
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: api, Kind: kind, Name: oname, UID: "owner-uid", Controller: ptr(true)}}
	}
	cs := corev1.ContainerStatus{Name: "app", Image: image}
	if waiting != "" {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
	} else {
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

func TestUnstick(t *testing.T) {
	img := registry + "/team/app:1"
	tests := []struct {
		name        string
		pods        []runtime.Object
		max         int
		wantDeleted []string
		wantSkipped map[string]string // pod -> substring of Skipped
		wantLeft    []string          // pods not reported at all
	}{
		{
			name: "a Deployment's pod in ImagePullBackOff is deleted",
			pods: []runtime.Object{stuckPod("web-5f-a", "ReplicaSet/web-5f", img, "ImagePullBackOff", false)},
			max:  10, wantDeleted: []string{"web-5f-a"},
		},
		{
			name: "StatefulSet and DaemonSet pods in ErrImagePull, any revision",
			pods: []runtime.Object{
				stuckPod("db-0", "StatefulSet/db", img, "ErrImagePull", false),
				stuckPod("agent-x", "DaemonSet/agent", img, "ImagePullBackOff", false),
			},
			max: 10, wantDeleted: []string{"agent-x", "db-0"},
		},
		{
			name: "never a bare pod",
			pods: []runtime.Object{stuckPod("bare", "", img, "ImagePullBackOff", false)},
			max:  10, wantSkipped: map[string]string{"bare": "bare pod"},
		},
		{
			name: "never a pod owned by something that is not a rolling controller",
			pods: []runtime.Object{stuckPod("job-x", "Job/x", img, "ImagePullBackOff", false)},
			max:  10, wantSkipped: map[string]string{"job-x": "bare pod"},
		},
		{
			name: "never a pod that is not failing to pull",
			pods: []runtime.Object{
				stuckPod("running", "ReplicaSet/web-5f", img, "", true),
				stuckPod("crashing", "ReplicaSet/web-5f", img, "CrashLoopBackOff", false),
				stuckPod("ready-but-waiting", "ReplicaSet/web-5f", img, "ImagePullBackOff", true),
			},
			max: 10, wantLeft: []string{"crashing", "ready-but-waiting", "running"},
		},
		{
			name: "never a pod failing on another registry",
			pods: []runtime.Object{
				stuckPod("hub", "ReplicaSet/web-5f", "nginx:1.27", "ImagePullBackOff", false),
				stuckPod("other", "ReplicaSet/web-5f", "other.example.com/team/app:1", "ErrImagePull", false),
				stuckPod("prefix", "ReplicaSet/web-5f", registry+".evil.com/app:1", "ErrImagePull", false),
			},
			max: 10, wantLeft: []string{"hub", "other", "prefix"},
		},
		{
			name: "at most max, in name order; the rest reported",
			pods: []runtime.Object{
				stuckPod("c", "ReplicaSet/web-5f", img, "ImagePullBackOff", false),
				stuckPod("a", "ReplicaSet/web-5f", img, "ImagePullBackOff", false),
				stuckPod("b", "ReplicaSet/web-5f", img, "ErrImagePull", false),
			},
			max: 2, wantDeleted: []string{"a", "b"}, wantSkipped: map[string]string{"c": "limit of 2 per run"},
		},
		{
			name: "max 0 only reports",
			pods: []runtime.Object{stuckPod("a", "ReplicaSet/web-5f", img, "ImagePullBackOff", false)},
			max:  0, wantSkipped: map[string]string{"a": "limit of 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientset(tt.pods...)
			res, err := (&Restarter{Client: c}).Unstick(context.Background(), ns, registry, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			var deleted []string
			skipped := map[string]string{}
			for _, u := range res {
				if u.Err != nil {
					t.Errorf("%s: %v", u.Pod, u.Err)
				}
				if u.Deleted {
					deleted = append(deleted, u.Pod)
				} else {
					skipped[u.Pod] = u.Skipped
				}
				t.Log(u)
			}
			if strings.Join(deleted, ",") != strings.Join(tt.wantDeleted, ",") {
				t.Errorf("deleted %v, want %v", deleted, tt.wantDeleted)
			}
			if len(skipped) != len(tt.wantSkipped) {
				t.Errorf("skipped %v, want %v", skipped, tt.wantSkipped)
			}
			for pod, want := range tt.wantSkipped {
				if !strings.Contains(skipped[pod], want) {
					t.Errorf("%s skipped %q, want it to say %q", pod, skipped[pod], want)
				}
			}
			left, _ := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			if n := len(left.Items); n != len(tt.pods)-len(tt.wantDeleted) {
				t.Errorf("%d pods left, want %d", n, len(tt.pods)-len(tt.wantDeleted))
			}
			for _, a := range c.Actions() {
				if d, ok := a.(k8stesting.DeleteAction); ok {
					if uid := d.GetDeleteOptions().Preconditions; uid == nil || uid.UID == nil || string(*uid.UID) != d.GetName()+"-uid" {
						t.Errorf("delete of %s without its UID as precondition", d.GetName())
					}
				}
			}
		})
	}
}

func TestUnstickErrors(t *testing.T) {
	gr := corev1.Resource("pods")
	c := fake.NewClientset(stuckPod("a", "ReplicaSet/web-5f", registry+"/app:1", "ImagePullBackOff", false))
	c.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(gr, "a", errors.New("no"))
	})
	res, err := (&Restarter{Client: c}).Unstick(context.Background(), ns, registry, 5)
	if err != nil || len(res) != 1 || res[0].Err == nil {
		t.Fatalf("res %v err %v, want one result with the delete's error", res, err)
	}
	for _, s := range []string{"pod shop/a", `verb "delete"`, `"pods"`, `namespace "shop"`} {
		if !strings.Contains(res[0].Err.Error(), s) {
			t.Errorf("error %q does not say %q", res[0].Err, s)
		}
	}

	c = fake.NewClientset()
	c.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(gr, "", errors.New("no"))
	})
	if _, err := (&Restarter{Client: c}).Unstick(context.Background(), ns, registry, 5); err == nil || !strings.Contains(err.Error(), "list and delete on pods") {
		t.Fatalf("err = %v, want the RBAC to grant", err)
	}
}

func TestImageHost(t *testing.T) {
	for img, want := range map[string]string{
		"nginx":                         "docker.io",
		"library/nginx:1":               "docker.io",
		"reg.example.com/a/b:1":         "reg.example.com",
		"reg.example.com:5000/a@sha":    "reg.example.com:5000",
		"localhost/app":                 "localhost",
		"localhost:5000/app":            "localhost:5000",
		"registry.gitlab.example.com/x": "registry.gitlab.example.com",
	} {
		if got := imageHost(img); got != want {
			t.Errorf("imageHost(%q) = %q, want %q", img, got, want)
		}
	}
}
