package pullsecret

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalHost(t *testing.T) {
	tests := []struct {
		raw     string
		want    string
		changed bool
	}{
		{"registry.example.com", "registry.example.com", false},
		{"registry.example.com:5000", "registry.example.com:5000", false},
		{"Registry.Example.COM", "registry.example.com", true},
		{"https://registry.example.com", "registry.example.com", true},
		{"http://registry.example.com:5000/", "registry.example.com:5000", true},
		{"HTTPS://registry.example.com/v2/", "registry.example.com", true},
		{"registry.example.com/v2", "registry.example.com", true},
		{"registry.example.com/v1/", "registry.example.com", true},
		{"registry.example.com/", "registry.example.com", true},
		{"127.0.0.1:5000", "127.0.0.1:5000", false},
		{"localhost:5000", "localhost:5000", false},
		{"localhost", "localhost", false},
		{"harbor:8080", "harbor:8080", false},
		{"[::1]:5000", "[::1]:5000", false},
		{"[fd00::1]", "[fd00::1]", false},
		{"harbor-core.harbor.svc.cluster.local", "harbor-core.harbor.svc.cluster.local", false},
		{"docker.io", "docker.io", false},
		{"index.docker.io", "docker.io", true},
		{"https://index.docker.io/v1/", "docker.io", true},
		{"registry-1.docker.io", "docker.io", true},
		{"docker.io:443", "docker.io:443", false}, // a port makes it a different key for kubelet
	}
	for _, tt := range tests {
		got, changed, err := CanonicalHost(tt.raw)
		if err != nil || got != tt.want || changed != tt.changed {
			t.Errorf("CanonicalHost(%q) = %q, %v, %v; want %q, %v, nil", tt.raw, got, changed, err, tt.want, tt.changed)
		}
		// Canonical output is a fixed point.
		if again, changed, err := CanonicalHost(got); err != nil || again != got || changed {
			t.Errorf("CanonicalHost(%q) is not stable: %q, %v, %v", got, again, changed, err)
		}
	}
}

func TestCanonicalHostRejects(t *testing.T) {
	tests := []struct {
		raw, wantMsg string
	}{
		{"", "empty"},
		{" registry.example.com", "white space"},
		{"registry .example.com", "white space"},
		{"ftp://registry.example.com", `scheme "ftp"`},
		{"oci://registry.example.com", `scheme "oci"`},
		{"registry.example.com/team", `path "/team"`},
		{"registry.example.com/v2/team", `path "/v2/team"`},
		{"https://", "no host"},
		{"registry.example.com:", "empty port"},
		{"registry.example.com:0", `port "0"`},
		{"registry.example.com:65536", `port "65536"`},
		{"registry.example.com:05000", `port "05000"`},
		{"registry.example.com:http", `port "http"`},
		{"registry.example.com:+80", `port "+80"`},
		{"*.example.com", "glob"},
		{"registry..example.com", `label ""`},
		{"registry.example.com.", `label ""`},
		{"-registry.example.com", `label "-registry"`},
		{"registry_1.example.com", `label "registry_1"`},
		{"::1", "must be written in [ ]"},
		{"[::1", "unclosed"},
		{"harbor", "without a dot or a port"},
		{"[127.0.0.1]", "not an IPv6"},
		{"[::1]x", "unexpected text"},
	}
	for _, tt := range tests {
		_, _, err := CanonicalHost(tt.raw)
		if !errors.Is(err, ErrInvalidHost) {
			t.Errorf("CanonicalHost(%q) error = %v, want ErrInvalidHost", tt.raw, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("CanonicalHost(%q) error = %q, want it to mention %q", tt.raw, err, tt.wantMsg)
		}
	}
}

func TestCanonicalHostDoesNotEchoUserInfo(t *testing.T) {
	_, _, err := CanonicalHost("https://robot:hunter2@registry.example.com")
	if !errors.Is(err, ErrInvalidHost) {
		t.Fatalf("error = %v, want ErrInvalidHost", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestSecretKey(t *testing.T) {
	for host, want := range map[string]string{
		"docker.io":                 DockerHubKey,
		"registry.example.com":      "registry.example.com",
		"registry.example.com:5000": "registry.example.com:5000",
	} {
		if got := SecretKey(host); got != want {
			t.Errorf("SecretKey(%q) = %q, want %q", host, got, want)
		}
	}
}
