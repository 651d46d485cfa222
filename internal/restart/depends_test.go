package restart

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDepends(t *testing.T) {
	const secret = "regcred"
	// Only these ServiceAccounts carry the secret.
	saHas := func(sa string) bool { return sa == "builder" || sa == "default" }
	refs := func(names ...string) []corev1.LocalObjectReference {
		var out []corev1.LocalObjectReference
		for _, n := range names {
			out = append(out, corev1.LocalObjectReference{Name: n})
		}
		return out
	}

	tests := []struct {
		name    string
		spec    corev1.PodSpec
		saHas   func(string) bool
		wantVia string
		wantOK  bool
	}{
		{"names the secret", corev1.PodSpec{ImagePullSecrets: refs(secret)}, saHas, "imagePullSecrets", true},
		{"names it among others", corev1.PodSpec{ImagePullSecrets: refs("other", secret)}, saHas, "imagePullSecrets", true},
		{"names it, SA irrelevant", corev1.PodSpec{ServiceAccountName: "nobody", ImagePullSecrets: refs(secret)}, saHas, "imagePullSecrets", true},
		{"no pull secrets, SA has it", corev1.PodSpec{ServiceAccountName: "builder"}, saHas, "serviceaccount/builder", true},
		{"no pull secrets, empty SA means default", corev1.PodSpec{}, saHas, "serviceaccount/default", true},
		{"deprecated serviceAccount field", corev1.PodSpec{DeprecatedServiceAccount: "builder"}, saHas, "serviceaccount/builder", true},
		{"no pull secrets, SA lacks it", corev1.PodSpec{ServiceAccountName: "web"}, saHas, "", false},
		// Admission copies the SA's secrets only into pods that name none.
		{"names other secrets, SA has it", corev1.PodSpec{ServiceAccountName: "builder", ImagePullSecrets: refs("other")}, saHas, "", false},
		{"an empty entry still counts as naming some", corev1.PodSpec{ImagePullSecrets: refs("")}, saHas, "", false},
		{"nil saHasSecret", corev1.PodSpec{ServiceAccountName: "builder"}, nil, "", false},
		{"unrelated workload", corev1.PodSpec{ServiceAccountName: "web", ImagePullSecrets: refs("other")}, func(string) bool { return false }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			via, ok := Depends(corev1.PodTemplateSpec{Spec: tt.spec}, secret, tt.saHas)
			if via != tt.wantVia || ok != tt.wantOK {
				t.Errorf("Depends() = (%q, %v), want (%q, %v)", via, ok, tt.wantVia, tt.wantOK)
			}
		})
	}
}

func TestImages(t *testing.T) {
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Image: "reg.example.com/init:1"}},
		Containers:     []corev1.Container{{Image: "reg.example.com/app:2"}, {Image: "reg.example.com/init:1"}, {Image: "busybox"}},
	}
	got := images(spec)
	want := []string{"reg.example.com/init:1", "reg.example.com/app:2", "busybox"}
	if len(got) != len(want) {
		t.Fatalf("images() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("images() = %v, want %v", got, want)
		}
	}
}
