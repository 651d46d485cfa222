package doctor

import (
	"testing"
)

// kubelet's key matching as the doctor applies it, with the examples of the Kubernetes
// documentation ("Images", section "Interpretation of config.json"; "Pull an Image from a Private
// Registry") and the port, scheme and Docker Hub rules of kubelet's keyring. A pod failing with a
// 401 gets NoMatchingAuthsKey when no key matches, and otherwise RegistryRefused (the chain holds
// up to the credential); a key kubelet matches only by its loose rules is also warned about.
func TestKubeletMatchingRulesAsTheDocsGiveThem(t *testing.T) {
	tests := []struct {
		key, image string
		match      bool
		portable   bool // Docker and other tools find it too
	}{
		// "*.kubernetes.io will not match kubernetes.io, but will match abc.kubernetes.io"
		{"*.kubernetes.io", "kubernetes.io/app", false, false},
		{"*.kubernetes.io", "abc.kubernetes.io/app", true, false},
		// "*.*.kubernetes.io will not match abc.kubernetes.io, but will match abc.def.kubernetes.io"
		{"*.*.kubernetes.io", "abc.kubernetes.io/app", false, false},
		{"*.*.kubernetes.io", "abc.def.kubernetes.io/app", true, false},
		// "prefix.*.io will match prefix.kubernetes.io"
		{"prefix.*.io", "prefix.kubernetes.io/app", true, false},
		// "*-good.kubernetes.io will match prefix-good.kubernetes.io"
		{"*-good.kubernetes.io", "prefix-good.kubernetes.io/app", true, false},
		// Paths: the key's path is a prefix of the image's.
		{"my-registry.io/images", "my-registry.io/images", true, false},
		{"my-registry.io/images", "my-registry.io/images/my-image", true, false},
		{"my-registry.io/images", "my-registry.io/images/another-image", true, false},
		{"*.my-registry.io/images", "sub.my-registry.io/images/my-image", true, false},
		{"*.my-registry.io/images", "a.sub.my-registry.io/images/my-image", false, false}, // one label per glob
		{"my-registry.io/images", "my-registry.io/other/my-image", false, false},
		// Ports must be equal; none is not any.
		{"registry.example.com:5000", "registry.example.com/app", false, false},
		{"registry.example.com", "registry.example.com:5000/app", false, false},
		{"registry.example.com:5000", "registry.example.com:5000/app", true, true},
		// kubelet drops the scheme and /v1/ /v2/; other tools do not.
		{"https://registry.example.com", "registry.example.com/app", true, false},
		{"https://registry.example.com/v2/", "registry.example.com/app", true, false},
		{"registry.example.com", "registry.example.com/app", true, true},
		// Subdomains are other hosts.
		{"example.com", "registry.example.com/app", false, false},
		{"registry.example.com", "example.com/app", false, false},
		// Docker Hub: "nginx" is docker.io/library/nginx; Docker's own key serves it.
		{"https://index.docker.io/v1/", "nginx", true, true},
		{"https://index.docker.io/v1/", "docker.io/bitnami/redis:7", true, true},
		{"docker.io", "nginx:1.27", true, true},
		{"registry-1.docker.io", "nginx", false, false},
		{"https://index.docker.io/v1/", "quay.io/coreos/etcd", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.image, func(t *testing.T) {
			c := only(t, diagnose(t, nil, append(failingPod(tt.image, unauthorized, "pull"), goodSecret(testNS, "pull", tt.key))...))
			want := NoMatchingAuthsKey
			if tt.match {
				want = RegistryRefused
			}
			if c.Cause.Code != want {
				t.Fatalf("cause %s, want %s: %s", c.Cause.Code, want, c.Cause.Explanation)
			}
			warned := false
			for _, w := range c.Warnings {
				warned = warned || w.Code == AuthsKeyNotPortable
			}
			if tt.match && warned == tt.portable {
				t.Errorf("AuthsKeyNotPortable warned = %v, want %v", warned, !tt.portable)
			}
		})
	}
}
