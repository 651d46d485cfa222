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

// ours is the owner of the tests' content: the state issued credential 7.
var ours = Owner{Credential: "h", NamePrefix: "rotator-h-", Ours: func(id string) bool { return id == "7" || id == "6" }}

func TestWriteCreatesUpdatesAndLeavesUpToDateSecretsAlone(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	w := &Writer{Client: c}
	if a, _, err := w.Write(ctx, "ns", "pull", content("p1"), nil, ours); err != nil || a != Created {
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
	if a, _, err := w.Write(ctx, "ns", "pull", content("p1"), s, ours); err != nil || a != Unchanged {
		t.Fatalf("same content: %v %v", a, err)
	}
	if a, _, err := w.Write(ctx, "ns", "pull", content("p2"), s, ours); err != nil || a != Updated {
		t.Fatalf("new content: %v %v", a, err)
	}
	// Hand-edited data with a stale annotation counts as drift.
	s, _ = c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{})
	s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`)
	s, _ = c.CoreV1().Secrets("ns").Update(ctx, s, metav1.UpdateOptions{})
	if a, _, err := w.Write(ctx, "ns", "pull", content("p2"), s, ours); err != nil || a != Updated {
		t.Fatalf("drifted content must be rewritten: %v %v", a, err)
	}
}

func TestWriteRefusesAnUnmanagedSecretUnlessAdopted(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "ns"}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}}
	c := fake.NewClientset(theirs)
	w := &Writer{Client: c}
	_, _, err := w.Write(ctx, "ns", "pull", content("p"), nil, ours)
	if !errors.Is(err, ErrNotManaged) {
		t.Fatalf("want ErrNotManaged, got %v", err)
	}
	if s, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{}); string(s.Data["x"]) != "y" {
		t.Fatal("an unmanaged secret was changed")
	}
	// Adopted: a Secret's type is immutable, so it is replaced.
	if a, _, err := w.Write(ctx, "ns", "pull", content("p"), nil, Owner{Adopt: true}); err != nil || a != Replaced {
		t.Fatalf("adopt: %v %v", a, err)
	}
	if s, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{}); s.Type != corev1.SecretTypeDockerConfigJson || !IsManaged(s, "h") {
		t.Fatalf("adopted secret: %+v", s)
	}
}

// Labels are no proof of ownership: a tenant's Secret with the rotator's labels and no id (or
// an id the state never issued) is refused and left as it is. One carrying an id the state
// issued is the rotator's, labels or not, and so is one with the rotator's labels and a name it
// gives (a run that lost its lock wrote it before saving its state).
func TestWriteOwnershipIsTheIssuedIDNotTheLabels(t *testing.T) {
	labels := map[string]string{LabelManagedBy: ManagedByValue, LabelCredential: "h"}
	yes := true
	for _, tc := range []struct {
		name   string
		secret corev1.Secret
		want   Action // "" is refused with ErrNotManaged
	}{
		{name: "spoofed labels, no id", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}},
		{name: "spoofed labels, an id never issued", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: labels,
			Annotations: map[string]string{AnnotationCredentialID: "999"}}, Type: corev1.SecretTypeOpaque}},
		{name: "spoofed labels, an id never issued, a name not the rotator's", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: labels,
			Annotations: map[string]string{AnnotationCredentialID: "999", AnnotationCredentialName: "robot$team+ci"}}, Type: corev1.SecretTypeDockerConfigJson}},
		{name: "the rotator's labels and name, an id its state never recorded (a run lost its lock)", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: labels,
			Annotations: map[string]string{AnnotationCredentialID: "12", AnnotationCredentialName: "robot$rotator-h-20261210t0256"}}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}, want: Updated},
		{name: "labels stripped, an issued id", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{AnnotationCredentialID: "6"}}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}, want: Updated},
		{name: "an issued id, made immutable by its tenant: replaced, not left holding its credential", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: labels,
			Annotations: map[string]string{AnnotationCredentialID: "6"}}, Immutable: &yes, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}, want: Replaced},
		{name: "spoofed labels, immutable: refused all the same", secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: labels,
			Annotations: map[string]string{AnnotationCredentialID: "999"}}, Immutable: &yes, Type: corev1.SecretTypeDockerConfigJson}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			theirs := tc.secret.DeepCopy()
			theirs.Name, theirs.Namespace, theirs.UID = "pull", "ns", "u1"
			c := fake.NewClientset(theirs)
			a, _, err := (&Writer{Client: c}).Write(ctx, "ns", "pull", content("p"), theirs, ours)
			got, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{})
			if tc.want == "" {
				if !errors.Is(err, ErrNotManaged) || got.UID != "u1" || len(got.Annotations) != len(theirs.Annotations) {
					t.Fatalf("want ErrNotManaged and the Secret untouched, got %v %v %+v", a, err, got.ObjectMeta)
				}
				return
			}
			if err != nil || a != tc.want || !IsManaged(got, "h") || got.Annotations[AnnotationCredentialID] != "7" {
				t.Fatalf("want %s and the current credential, got %v %v %+v", tc.want, a, err, got.ObjectMeta)
			}
			if got.Immutable != nil && *got.Immutable {
				t.Fatal("the rotator's Secret was written immutable: the next rotation could not update it")
			}
		})
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
