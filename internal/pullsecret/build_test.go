package pullsecret

import (
	"errors"
	"strings"
	"testing"
)

const testPassword = "s3cr3t-PASSWORD"

func TestBuildGolden(t *testing.T) {
	got, err := Build("registry.example.com:5000", "robot$proj+pull", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	// base64("robot$proj+pull:s3cr3t-PASSWORD"); "$" and "+" are not HTML-escaped.
	want := `{"auths":{"registry.example.com:5000":{"username":"robot$proj+pull","password":"s3cr3t-PASSWORD","auth":"cm9ib3QkcHJvaitwdWxsOnMzY3IzdC1QQVNTV09SRA=="}}}`
	if string(got) != want {
		t.Errorf("Build =\n%s\nwant\n%s", got, want)
	}
	again, _ := Build("registry.example.com:5000", "robot$proj+pull", testPassword)
	if string(again) != string(got) || Fingerprint(again) != Fingerprint(got) {
		t.Error("Build is not deterministic")
	}
}

func TestBuildRoundTrip(t *testing.T) {
	for _, host := range []string{"registry.example.com", "127.0.0.1:5000", "[::1]:5000", "docker.io"} {
		data, err := Build(host, "gitlab+deploy-token-7", testPassword)
		if err != nil {
			t.Fatalf("Build(%q): %v", host, err)
		}
		cfg, err := Parse(data)
		if err != nil {
			t.Fatalf("Parse(Build(%q)): %v", host, err)
		}
		key := SecretKey(host)
		e, ok := cfg.Auths[key]
		if !ok || len(cfg.Auths) != 1 {
			t.Fatalf("Parse(Build(%q)) keys = %v, want [%q]", host, cfg.Keys(), key)
		}
		if e.Username != "gitlab+deploy-token-7" || e.Password != testPassword || !e.FromAuth {
			t.Errorf("entry = %+v", e)
		}
		if !LiteralMatch(key, host) {
			t.Errorf("LiteralMatch(%q, %q) = false: other tools would not find the key", key, host)
		}
	}
}

// Docker Hub's key must work for kubelet, which sees "nginx" as docker.io/library/nginx.
func TestBuildDockerHubMatchesInKubelet(t *testing.T) {
	data, err := Build("docker.io", "user", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := Parse(data)
	if _, key, ok := Match(cfg, "nginx"); !ok || key != DockerHubKey {
		t.Errorf("Match(nginx) = %q, %v; want %q", key, ok, DockerHubKey)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		host, user, pass string
		want             error
		msg              string
	}{
		{"https://registry.example.com", "u", testPassword, ErrInvalidHost, `use "registry.example.com"`},
		{"index.docker.io", "u", testPassword, ErrInvalidHost, `use "docker.io"`},
		{"registry.example.com/team", "u", testPassword, ErrInvalidHost, "path"},
		{"registry.example.com", "", testPassword, ErrInvalidCredential, "empty username"},
		{"registry.example.com", "a:b", testPassword, ErrInvalidCredential, `contains ":"`},
		{"registry.example.com", "u", "", ErrInvalidCredential, "empty password"},
		{"registry.example.com", "\x80", testPassword, ErrInvalidCredential, "username is not valid UTF-8"},
		{"registry.example.com", "u", testPassword + "\xff", ErrInvalidCredential, "password of username \"u\" is not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := Build(tt.host, tt.user, tt.pass)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Build(%q, %q) error = %v, want %v mentioning %q", tt.host, tt.user, err, tt.want, tt.msg)
			continue
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("error %q contains the password", err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint([]byte(`{"auths":{}}`))
	if len(a) != 16 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("Fingerprint = %q, want 16 lower-case hex digits", a)
	}
	// sha256("") = e3b0c44298fc1c149afbf4c8996fb924…
	if got := Fingerprint(nil); got != "e3b0c44298fc1c14" {
		t.Errorf("Fingerprint(nil) = %q", got)
	}
	if a == Fingerprint([]byte(`{"auths":{} }`)) {
		t.Error("different bytes, same fingerprint")
	}
}
