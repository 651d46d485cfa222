package controller

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func managed(ns, id string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: ns,
		Labels:        map[string]string{"app.kubernetes.io/managed-by": "rotator", "rotator.dev/credential": "h"},
		Annotations:   map[string]string{"rotator.dev/credential-id": id},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "rotator"}}},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"` + id + `":{}}}`)}}
}

func same(a, b any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// The caches keep one copy of what the managed Secrets of every namespace hold alike, and of
// equal imagePullSecrets; different contents stay apart, and the tables stay bounded.
func TestSlimSharesEqualContents(t *testing.T) {
	in := &interner{}
	slimmed := func(obj any) any {
		t.Helper()
		out, err := in.slim(obj)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := slimmed(managed("a", "1")).(*corev1.Secret), slimmed(managed("b", "1")).(*corev1.Secret)
	if !same(a.Labels, b.Labels) || !same(a.Annotations, b.Annotations) || !same(a.Data, b.Data) {
		t.Error("two managed Secrets holding the same credential do not share their maps")
	}
	if a.ManagedFields != nil {
		t.Error("managedFields kept")
	}
	c := slimmed(managed("c", "2")).(*corev1.Secret)
	if same(a.Annotations, c.Annotations) || same(a.Data, c.Data) || c.Annotations["rotator.dev/credential-id"] != "2" {
		t.Error("Secrets holding different credentials share their annotations or data")
	}
	if !same(a.Labels, c.Labels) {
		t.Error("equal labels not shared")
	}
	sa := func(ns string, refs ...string) *corev1.ServiceAccount {
		s := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}, Secrets: []corev1.ObjectReference{{Name: "token"}}}
		for _, r := range refs {
			s.ImagePullSecrets = append(s.ImagePullSecrets, corev1.LocalObjectReference{Name: r})
		}
		return s
	}
	x, y := slimmed(sa("a", "pull", "other")).(*corev1.ServiceAccount), slimmed(sa("b", "pull", "other")).(*corev1.ServiceAccount)
	if !same(x.ImagePullSecrets, y.ImagePullSecrets) || x.Secrets != nil {
		t.Error("equal imagePullSecrets not shared, or token Secrets kept")
	}
	if z := append(x.ImagePullSecrets, corev1.LocalObjectReference{Name: "more"}); same(z, x.ImagePullSecrets) || len(y.ImagePullSecrets) != 2 {
		t.Error("an append to a shared list wrote into it")
	}
	for i := range maxInterned + 10 {
		slimmed(managed(fmt.Sprint("n", i), fmt.Sprint(i)))
	}
	if len(in.strMaps) > maxInterned || len(in.data) > maxInterned {
		t.Errorf("tables grew to %d and %d entries, past %d", len(in.strMaps), len(in.data), maxInterned)
	}
}
