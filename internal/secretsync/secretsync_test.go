package secretsync

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func content(password string) Content {
	return Content{Credential: "h", Registry: "harbor.example.com", Username: "robot$x", Password: password,
		ID: "7", Name: "robot$x", IssuedAt: time.Unix(1700000000, 0)}
}

func TestWriteCreatesUpdatesAndLeavesUpToDateSecretsAlone(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	w := &Writer{Client: c}
	if a, _, err := w.Write(ctx, "ns", "pull", content("p1"), nil, false); err != nil || a != Created {
		t.Fatalf("create: %v %v", a, err)
	}
	s, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{})
	if s.Type != corev1.SecretTypeDockerConfigJson || len(s.Data) != 1 || !IsManaged(s, "h") {
		t.Fatalf("written secret: %+v", s)
	}
	for k, v := range s.Annotations {
		if v == "p1" {
			t.Fatalf("annotation %s holds the password", k)
		}
	}
	if a, _, err := w.Write(ctx, "ns", "pull", content("p1"), s, false); err != nil || a != Unchanged {
		t.Fatalf("same content: %v %v", a, err)
	}
	if a, _, err := w.Write(ctx, "ns", "pull", content("p2"), s, false); err != nil || a != Updated {
		t.Fatalf("new content: %v %v", a, err)
	}
	// Hand-edited data with a stale annotation counts as drift.
	s, _ = c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{})
	s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`)
	s, _ = c.CoreV1().Secrets("ns").Update(ctx, s, metav1.UpdateOptions{})
	if a, _, err := w.Write(ctx, "ns", "pull", content("p2"), s, false); err != nil || a != Updated {
		t.Fatalf("drifted content must be rewritten: %v %v", a, err)
	}
}

func TestWriteRefusesAnUnmanagedSecretUnlessAdopted(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "ns"}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}}
	c := fake.NewClientset(theirs)
	w := &Writer{Client: c}
	_, _, err := w.Write(ctx, "ns", "pull", content("p"), nil, false)
	if !errors.Is(err, ErrNotManaged) {
		t.Fatalf("want ErrNotManaged, got %v", err)
	}
	if s, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{}); string(s.Data["x"]) != "y" {
		t.Fatal("an unmanaged secret was changed")
	}
	// Adopted: a Secret's type is immutable, so it is replaced.
	if a, _, err := w.Write(ctx, "ns", "pull", content("p"), nil, true); err != nil || a != Replaced {
		t.Fatalf("adopt: %v %v", a, err)
	}
	if s, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{}); s.Type != corev1.SecretTypeDockerConfigJson || !IsManaged(s, "h") {
		t.Fatalf("adopted secret: %+v", s)
	}
}

func TestBindAddsOnceAndKeepsOthers(t *testing.T) {
	ctx := context.Background()
	// The API server always sets a resourceVersion; the fake tracker needs one given.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns", ResourceVersion: "1"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "other"}}}
	c := fake.NewClientset(sa)
	if changed, err := Bind(ctx, c, "ns", "default", "pull", nil); err != nil || !changed {
		t.Fatalf("bind: %v %v", changed, err)
	}
	if changed, err := Bind(ctx, c, "ns", "default", "pull", nil); err != nil || changed {
		t.Fatalf("second bind must change nothing: %v %v", changed, err)
	}
	got, _ := c.CoreV1().ServiceAccounts("ns").Get(ctx, "default", metav1.GetOptions{})
	if len(got.ImagePullSecrets) != 2 || got.ImagePullSecrets[0].Name != "other" || got.ImagePullSecrets[1].Name != "pull" {
		t.Fatalf("imagePullSecrets %v", got.ImagePullSecrets)
	}
	if _, err := Bind(ctx, c, "ns", "missing", "pull", nil); err == nil {
		t.Fatal("a missing ServiceAccount must be an error naming it")
	}
}
