package pullsecret_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// ggcrUser resolves image with go-containerregistry's NewFromPullSecrets, which
// mirrors kubelet's keyring, and returns the username it picks ("" = anonymous).
func ggcrUser(t *testing.T, keys []string, image string) string {
	t.Helper()
	auths := map[string]map[string]string{}
	for _, k := range keys {
		auths[k] = map[string]string{"username": "user-for-" + k, "password": "x"}
	}
	doc, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	s := corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": doc}}
	kc, err := k8schain.NewFromPullSecrets(context.Background(), []corev1.Secret{s})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a == authn.Anonymous {
		return ""
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Username
}

func ourUser(t *testing.T, keys []string, image string) string {
	t.Helper()
	cfg := pullsecret.Config{Auths: map[string]pullsecret.Entry{}}
	for _, k := range keys {
		cfg.Auths[k] = pullsecret.Entry{Username: "user-for-" + k, Password: "x"}
	}
	e, _, ok := pullsecret.Match(cfg, image)
	if !ok {
		return ""
	}
	return e.Username
}

// A sample of cases where kubelet and go-containerregistry agree must give the
// same answer from Match.
func TestMatchAgreesWithGoContainerregistry(t *testing.T) {
	tests := []struct {
		keys  []string
		image string
	}{
		{[]string{"*.kubernetes.io"}, "abc.kubernetes.io/app"},
		{[]string{"*.kubernetes.io"}, "kubernetes.io/app"},
		{[]string{"*.kubernetes.io"}, "a.b.kubernetes.io/app"},
		{[]string{"*.*.kubernetes.io"}, "abc.def.kubernetes.io/app"},
		{[]string{"prefix.*.io"}, "prefix.kubernetes.io/app"},
		{[]string{"*-good.kubernetes.io"}, "prefix-good.kubernetes.io/app"},
		{[]string{"my-registry.example/images"}, "my-registry.example/images/my-image"},
		{[]string{"*.my-registry.example/images"}, "a.sub.my-registry.example/images/my-image"},
		{[]string{"https://registry.example.com/v2/"}, "registry.example.com/team/app"},
		{[]string{"registry.example.com"}, "registry.example.com:5000/app"},
		{[]string{"registry.example.com:5000"}, "registry.example.com/app"},
		{[]string{"127.0.0.1:5001"}, "127.0.0.1:5000/app"},
		{[]string{"127.0.0.1:5000"}, "127.0.0.1:5000/app:tag"},
		{[]string{pullsecret.DockerHubKey}, "nginx"},
		{[]string{pullsecret.DockerHubKey}, "bitnami/redis:7"},
		{[]string{"quay.io", "quay.io/coreos"}, "quay.io/coreos/etcd"},
		{[]string{"quay.io", "quay.io/coreos"}, "quay.io/other/etcd"},
		{[]string{"*.example.com", "a.example.com"}, "a.example.com/app"},
		{[]string{"https://registry.gitlab.com", "https://registry.gitlab.com/group/project"}, "registry.gitlab.com/group/project/app"},
	}
	for _, tt := range tests {
		want := ggcrUser(t, tt.keys, tt.image)
		if got := ourUser(t, tt.keys, tt.image); got != want {
			t.Errorf("keys %v, image %q: Match picks %q, go-containerregistry %q", tt.keys, tt.image, got, want)
		}
	}
}

// go-containerregistry names Docker Hub "index.docker.io", so a bare "docker.io" key,
// which kubelet accepts, finds nothing there. This is why Build writes DockerHubKey.
// If this test starts failing, go-containerregistry changed and the caveat can go.
func TestDockerIOKeyDivergesFromGoContainerregistry(t *testing.T) {
	keys := []string{"docker.io"}
	if got := ourUser(t, keys, "nginx"); got != "user-for-docker.io" {
		t.Errorf("kubelet rules: %q", got)
	}
	if got := ggcrUser(t, keys, "nginx"); got != "" {
		t.Errorf("go-containerregistry now matches a docker.io key (%q)", got)
	}
}
