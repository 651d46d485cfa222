package pullsecret

import (
	"strings"
	"testing"
)

// Cases from the Kubernetes documentation, "Interpretation of config.json", and from
// kubelet's keyring.go comments and tests.
func TestKeyMatchesImage(t *testing.T) {
	tests := []struct {
		key, image string
		want       bool
	}{
		// Globs match one host label each (filepath.Match per label).
		{"*.kubernetes.io", "kubernetes.io/app", false},
		{"*.kubernetes.io", "abc.kubernetes.io/app", true},
		{"*.kubernetes.io", "a.b.kubernetes.io/app", false},
		{"*.*.kubernetes.io", "abc.kubernetes.io/app", false},
		{"*.*.kubernetes.io", "abc.def.kubernetes.io/app", true},
		{"prefix.*.io", "prefix.kubernetes.io/app", true},
		{"*-good.kubernetes.io", "prefix-good.kubernetes.io/app", true},
		{"*-good.kubernetes.io", "prefix-bad.kubernetes.io/app", false},
		{"*.docker.io", "blah.docker.io/app", true},
		{"*.docker.io", "not.right.io/app", false},
		// Paths: the key's path is a prefix of the image's path.
		{"my-registry.example/images", "my-registry.example/images", true},
		{"my-registry.example/images", "my-registry.example/images/my-image", true},
		{"my-registry.example/images", "my-registry.example/images/another-image:1.0", true},
		{"*.my-registry.example/images", "sub.my-registry.example/images/my-image", true},
		{"*.my-registry.example/images", "a.sub.my-registry.example/images/my-image", false},
		{"my-registry.example/images", "my-registry.example/other/app", false},
		{"my-registry.example/images", "my-registry.example/imagesx/app", true}, // a string prefix, not a path segment
		// Scheme and /v1/ /v2/ are ignored.
		{"https://registry.example.com", "registry.example.com/team/app", true},
		{"http://registry.example.com", "registry.example.com/team/app", true},
		{"https://registry.example.com/v2/", "registry.example.com/team/app", true},
		{"registry.example.com/v1/", "registry.example.com/team/app", true},
		{"https://registry.example.com/v2/team", "registry.example.com/team/app", true},
		{"https://registry.example.com/v2/team", "registry.example.com/other/app", false},
		// Ports must be equal.
		{"registry.example.com", "registry.example.com:5000/app", false},
		{"registry.example.com:5000", "registry.example.com/app", false},
		{"registry.example.com:5000", "registry.example.com:5000/app", true},
		{"127.0.0.1:5001", "127.0.0.1:5000/app", false},
		{"registry.example.com:443", "registry.example.com/app", false},
		// Tags and digests do not matter.
		{"registry.example.com", "registry.example.com/app@sha256:" + strings.Repeat("a", 64), true},
		// Docker Hub.
		{DockerHubKey, "nginx", true},
		{DockerHubKey, "library/nginx:1.27", true},
		{DockerHubKey, "docker.io/bitnami/redis", true},
		{DockerHubKey, "index.docker.io/bitnami/redis", true},
		{"docker.io", "nginx", true},
		{"index.docker.io", "nginx", true}, // kubelet's Docker Hub fallback
		{DockerHubKey, "quay.io/app", false},
		{"registry-1.docker.io", "nginx", false},
		// Case matters to kubelet.
		{"Registry.Example.com", "registry.example.com/app", false},
		// Invalid inputs.
		{"reg.io:port", "reg.io/app", false},
		{"reg.io", "Invalid/UPPER", false},
	}
	for _, tt := range tests {
		if got := KeyMatchesImage(tt.key, tt.image); got != tt.want {
			t.Errorf("KeyMatchesImage(%q, %q) = %v, want %v (reason %q)", tt.key, tt.image, got, tt.want, MismatchReason(tt.key, tt.image))
		}
	}
}

func TestMismatchReason(t *testing.T) {
	tests := []struct{ key, image, want string }{
		{"127.0.0.1:5001", "127.0.0.1:5000/app", `port "5001" of the key differs from port "5000" of the image`},
		{"registry.example.com", "registry.example.com:5000/app", `port (none) of the key differs from port "5000"`},
		{"*.example.com", "a.b.example.com/app", "different numbers of labels"},
		{"reg.io/team", "reg.io/other/app", `path "/team" of the key is not a prefix of the image path "/other/app"`},
		{"*-good.example.com", "x-bad.example.com/app", `host label "*-good" does not match image host label "x-bad"`},
		{"registry.example.com", "registry.example.com/app", ""},
	}
	for _, tt := range tests {
		got := MismatchReason(tt.key, tt.image)
		if (tt.want == "" && got != "") || !strings.Contains(got, tt.want) {
			t.Errorf("MismatchReason(%q, %q) = %q, want %q", tt.key, tt.image, got, tt.want)
		}
	}
}

func cfgWith(keys ...string) Config {
	c := Config{Auths: map[string]Entry{}}
	for _, k := range keys {
		c.Auths[k] = Entry{Username: "user-for-" + k, Password: "x"}
	}
	return c
}

func TestMatchMostSpecificWins(t *testing.T) {
	tests := []struct {
		keys    []string
		image   string
		wantKey string
	}{
		{[]string{"quay.io", "quay.io/coreos"}, "quay.io/coreos/etcd", "quay.io/coreos"},
		{[]string{"quay.io", "quay.io/coreos"}, "quay.io/other/etcd", "quay.io"},
		{[]string{"*.example.com", "a.example.com"}, "a.example.com/app", "a.example.com"},
		{[]string{"*.example.com", "a.example.com"}, "b.example.com/app", "*.example.com"},
		{[]string{"https://reg.io/v2/team", "reg.io"}, "reg.io/team/app", "https://reg.io/v2/team"},
		// The Docker Hub key is only a fallback: a direct "docker.io" key wins.
		{[]string{DockerHubKey, "docker.io"}, "nginx", "docker.io"},
		{[]string{DockerHubKey}, "nginx", DockerHubKey},
		// kubelet's fallback also treats single-label hosts as Docker Hub.
		{[]string{DockerHubKey}, "localhost/app", DockerHubKey},
		{[]string{DockerHubKey}, "localhost:5000/app", ""},
		{[]string{"reg.io:5000"}, "reg.io/app", ""},
	}
	for _, tt := range tests {
		cfg := cfgWith(tt.keys...)
		e, key, ok := Match(cfg, tt.image)
		if key != tt.wantKey || ok != (tt.wantKey != "") {
			t.Errorf("Match(%v, %q) key = %q, %v; want %q", tt.keys, tt.image, key, ok, tt.wantKey)
			continue
		}
		if ok && e.Username != "user-for-"+tt.wantKey {
			t.Errorf("Match(%v, %q) entry = %v", tt.keys, tt.image, e)
		}
	}
}

func TestKeyringOrderAcrossSecrets(t *testing.T) {
	var k Keyring
	k.Add("ns/old", cfgWith("reg.io", "other.io"))
	k.Add("ns/new", cfgWith("https://reg.io/v2/", "reg.io/team"))
	got := k.Lookup("reg.io/team/app:1")
	var desc []string
	for _, c := range got {
		desc = append(desc, c.Source+" "+c.Key)
	}
	// Most specific index key first; for equal index keys, secrets in Add order.
	want := "ns/new reg.io/team,ns/old reg.io,ns/new https://reg.io/v2/"
	if strings.Join(desc, ",") != want {
		t.Errorf("Lookup = %v, want %v", desc, want)
	}
	if got := k.Lookup("nowhere.io/app"); got != nil {
		t.Errorf("Lookup(nowhere) = %v", got)
	}
	if got := k.Lookup("NOT VALID"); got != nil {
		t.Errorf("Lookup(invalid) = %v", got)
	}
	if n := len(k.Candidates()); n != 4 {
		t.Errorf("Candidates = %d, want 4", n)
	}
}

func TestLiteralMatch(t *testing.T) {
	tests := []struct {
		key, host string
		want      bool
	}{
		{"registry.example.com", "registry.example.com", true},
		{"registry.example.com:5000", "registry.example.com:5000", true},
		{"https://registry.example.com", "registry.example.com", false},
		{"registry.example.com/v2/", "registry.example.com", false},
		{"*.example.com", "registry.example.com", false},
		{"registry.example.com", "registry.example.com:5000", false},
		{DockerHubKey, "docker.io", true},
		{DockerHubKey, "index.docker.io", true},
		{"docker.io", "docker.io", true},
		{DockerHubKey, "registry.example.com", false},
	}
	for _, tt := range tests {
		if got := LiteralMatch(tt.key, tt.host); got != tt.want {
			t.Errorf("LiteralMatch(%q, %q) = %v, want %v", tt.key, tt.host, got, tt.want)
		}
	}
}

func TestImageHost(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":                         "docker.io",
		"index.docker.io/library/nginx": "docker.io",
		"registry.example.com:5000/a/b": "registry.example.com:5000",
		"localhost/app":                 "localhost",
		"[::1]:5000/app":                "[::1]:5000",
	} {
		if got, err := ImageHost(image); err != nil || got != want {
			t.Errorf("ImageHost(%q) = %q, %v; want %q", image, got, err, want)
		}
	}
	if _, err := ImageHost("UPPER/case"); err == nil {
		t.Error("ImageHost(UPPER/case): no error")
	}
}
