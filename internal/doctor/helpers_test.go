package doctor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testNS   = "shop"
	testHost = "registry.example.com"
	testUser = "robot$shop+ci"
	// testPass is what no report may contain.
	testPass = "S3cret-pa55word-never-shown"
)

var testImage = testHost + "/shop/app:1.0"

// pod is a pod of testNS running image with the named pull secrets, failing with waiting reason
// (empty: running) and kubelet's event message.
func pod(name, image, waiting, message string, secrets ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
	for _, s := range secrets {
		p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	cs := corev1.ContainerStatus{Name: "app", Image: image}
	if waiting == "" {
		cs.State.Running = &corev1.ContainerStateRunning{}
		p.Status.Phase = corev1.PodRunning
	} else {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting, Message: "Back-off pulling image \"" + image + "\""}
		p.Status.Phase = corev1.PodPending
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	return p
}

// pullEvent is kubelet's Warning event for a failed pull of p's container "app".
func pullEvent(p *corev1.Pod, message string, age time.Duration) *corev1.Event {
	at := metav1.NewTime(time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC).Add(-age))
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name + "." + at.Format("150405") + message[:3], Namespace: p.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID,
			FieldPath: "spec.containers{app}"},
		Type: corev1.EventTypeWarning, Reason: "Failed", LastTimestamp: at,
		Message: "Failed to pull image \"" + p.Spec.Containers[0].Image + "\": " + message,
	}
}

// failingPod is a pod failing with ImagePullBackOff and kubelet's event.
func failingPod(image, message string, secrets ...string) []runtime.Object {
	p := pod("web-1", image, ReasonImagePullBackOff, "", secrets...)
	return []runtime.Object{p, pullEvent(p, message, 0)}
}

func secret(ns, name string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: typ, Data: data}
}

// goodSecret is a correct pull secret for key.
func goodSecret(ns, name, key string) *corev1.Secret {
	return secret(ns, name, corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: doc(key, testUser, testPass, auth(testUser, testPass))})
}

func doc(key, user, pass, authField string) []byte {
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{key: map[string]string{"username": user, "password": pass, "auth": authField}}})
	return b
}

func auth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func sa(name string, secrets ...string) *corev1.ServiceAccount {
	s := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}}
	for _, n := range secrets {
		s.ImagePullSecrets = append(s.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
	}
	return s
}

// diagnose runs the doctor on every pod of testNS and checks that no secret value leaked.
func diagnose(t *testing.T, d *Doctor, objs ...runtime.Object) *Report {
	t.Helper()
	if d == nil {
		d = &Doctor{}
	}
	if d.Kube == nil {
		d.Kube = newKube(objs...)
	}
	rep, err := d.Diagnose(context.Background(), Target{Namespace: testNS})
	if err != nil {
		t.Fatal(err)
	}
	noSecrets(t, rep)
	return rep
}

// noSecrets fails when the report holds the test password or an auth field built from it.
func noSecrets(t *testing.T, rep *Report) {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{testPass, auth(testUser, testPass), base64.RawStdEncoding.EncodeToString([]byte(testUser + ":" + testPass))} {
		if strings.Contains(string(b), v) {
			t.Fatalf("the report holds a secret value:\n%s", b)
		}
	}
}

// only returns the one container report of rep.
func only(t *testing.T, rep *Report) ContainerReport {
	t.Helper()
	if len(rep.Pods) != 1 || len(rep.Pods[0].Containers) != 1 {
		t.Fatalf("want one pod with one container, got %+v", rep.Pods)
	}
	return rep.Pods[0].Containers[0]
}

func codes(fs []Finding) []Code {
	var out []Code
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func fixText(f Finding) string { return strings.Join(f.Fix, "\n") }

func dump(t *testing.T, rep *Report) string {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newKube is a fake API server on which the doctor may read everything, as cluster-admin.
func newKube(objs ...runtime.Object) *fake.Clientset {
	return rbacKube(func(string, string, string) bool { return true }, objs...).Clientset
}

// rbacFake is a fake API server whose authorizer allows the Secret reads allow says yes to: its
// access reviews answer so, and it refuses (403) the other Secret reads, counting them.
type rbacFake struct {
	*fake.Clientset
	// refused counts the Secret reads tried and refused; reads counts all Secret reads.
	refused, reads int
	// reviews counts the SelfSubjectAccessReviews asked.
	reviews int
}

// rbacKube builds an rbacFake for user "alice". allow(verb, namespace, name): namespace "" is
// the cluster-wide list, name "" a list.
func rbacKube(allow func(verb, ns, name string) bool, objs ...runtime.Object) *rbacFake {
	f := &rbacFake{Clientset: fake.NewClientset(objs...)}
	f.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		f.reviews++
		r.Status.Allowed = ra != nil && ra.Resource == "secrets" && allow(ra.Verb, ra.Namespace, ra.Name)
		return true, r, nil
	})
	f.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: "alice"}}}, nil
	})
	for _, verb := range []string{"get", "list", "watch"} {
		f.PrependReactor(verb, "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
			f.reads++
			name := ""
			if g, ok := a.(k8stesting.GetAction); ok {
				name = g.GetName()
			}
			if allow(a.GetVerb(), a.GetNamespace(), name) {
				return false, nil, nil
			}
			f.refused++
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, name, nil)
		})
	}
	return f
}

// noSecretReads allows no Secret read at all: the shipped ClusterRole rotator-doctor.
func noSecretReads(string, string, string) bool { return false }

// notChecked returns the checks of c not made, by Check.
func notChecked(c ContainerReport) map[Check]NotChecked {
	out := map[Check]NotChecked{}
	for _, n := range c.NotChecked {
		out[n.Check] = n
	}
	return out
}

// allowAll answers every SelfSubjectAccessReview with yes.
func allowAll(a k8stesting.Action) (bool, runtime.Object, error) {
	r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
	r.Status.Allowed = true
	return true, r, nil
}

// selfReview answers a SelfSubjectReview with user.
func selfReview(user string) k8stesting.ReactionFunc {
	return func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: user}}}, nil
	}
}
