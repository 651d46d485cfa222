package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatalf("config.example.yaml must be valid: %v", err)
	}
	cr := c.Credentials[0]
	if cr.Name != "harbor-main" || cr.Harbor.URL != "https://harbor.example.com" || len(cr.Harbor.Projects) != 2 {
		t.Fatalf("unexpected decode: %+v", cr)
	}
	if cr.Lifetime.Duration != 30*24*time.Hour || cr.RevokeAfter.Duration != time.Hour || cr.Restart.Timeout.Duration != 5*time.Minute {
		t.Fatalf("durations: %v %v %v", cr.Lifetime, cr.RevokeAfter, cr.Restart.Timeout)
	}
	if host, normalised, err := cr.Registry(); err != nil || host != "harbor.example.com" || normalised {
		t.Fatalf("registry: %q %v %v", host, normalised, err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(`
credentials:
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com/", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	cr := c.Credentials[0]
	if c.StateNamespace != "rotator-system" || c.Kubernetes.QPS != 200 || c.Kubernetes.Burst != 400 || c.Kubernetes.Concurrency != 10 {
		t.Fatalf("defaults: %+v", c)
	}
	if cr.Harbor.RobotNamePrefix != "rotator-h-" || cr.RenewBefore != "30%" || cr.Restart.Concurrency != 5 {
		t.Fatalf("credential defaults: %+v %+v", cr, cr.Harbor)
	}
}

// Every problem is reported at once, each with its path.
func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	_, err := Parse([]byte(`
stateNamespace: Bad_NS
credentials:
- name: ok
  provider: harbor
  harbor: {url: "ftp://x", username: "", passwordFrom: {}, projects: []}
  lifetime: 3x
  renewBefore: 120%
  schedule: "every tuesday"
  targets: {secretName: "", namespaces: []}
- name: ok
  provider: quay
  targets: {secretName: pull, namespaces: [UPPER], namespaceSelector: "a in (", serviceAccounts: ["bad sa"]}
`), "bad.yaml")
	wantProblems(t, err, []string{
		"stateNamespace: Invalid value",
		"credentials[0].harbor.url: Invalid value",
		"credentials[0].harbor.username: Required value",
		"credentials[0].harbor.passwordFrom: Required value",
		"credentials[0].harbor.projects: Required value",
		"credentials[0].lifetime: Invalid value: \"3x\"",
		"credentials[0].renewBefore: Invalid value",
		"credentials[0].schedule: Invalid value",
		"credentials[0].targets.secretName: Required value",
		"credentials[0].targets.namespaces: Required value",
		"credentials[1].name: Duplicate value",
		"credentials[1].provider: Unsupported value: \"quay\"",
		"credentials[1].targets.namespaces[0]: Invalid value",
		"credentials[1].targets.namespaceSelector: Invalid value",
		"credentials[1].targets.serviceAccounts[0]: Invalid value",
	})
}

func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	_, err := Parse([]byte("credentials:\n- name: a\n  namespace: typo\n"), "typo.yaml")
	if err == nil || !strings.Contains(err.Error(), `unknown field "credentials[0].namespace"`) && !strings.Contains(err.Error(), "namespace") {
		t.Fatalf("want unknown-field error naming it, got %v", err)
	}
}

func TestRegistryHostNormalised(t *testing.T) {
	cr := Credential{RegistryHost: "https://harbor.example.com/v2/"}
	host, normalised, err := cr.Registry()
	if err != nil || host != "harbor.example.com" || !normalised {
		t.Fatalf("got %q %v %v", host, normalised, err)
	}
}

func TestRenewAt(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires := issued.Add(100 * time.Hour)
	pct := Credential{RenewBefore: "30%"}
	if got := pct.RenewAt(issued, expires); !got.Equal(issued.Add(70 * time.Hour)) {
		t.Fatalf("30%%: %v", got)
	}
	abs := Credential{RenewBefore: "10h"}
	if got := abs.RenewAt(issued, expires); !got.Equal(issued.Add(90 * time.Hour)) {
		t.Fatalf("10h: %v", got)
	}
	if got := abs.RenewAt(issued, time.Time{}); !got.IsZero() {
		t.Fatalf("never-expiring credential must never be due by age: %v", got)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte("credentials: []"))
	f.Add([]byte("credentials:\n- name: a\n  provider: harbor\n  lifetime: 30d\n"))
	f.Add([]byte("stateNamespace: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, "fuzz")
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

// A renewBefore at or beyond the credential's real lifetime (Validate refuses it; a provider may
// also cut a lifetime short) must not make a credential due the moment it is issued.
func TestRenewAtNeverAtIssue(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		renewBefore string
		life, want  time.Duration
	}{
		{"10h", 100 * time.Hour, 90 * time.Hour},
		{"100h", 100 * time.Hour, 70 * time.Hour},
		{"300h", 100 * time.Hour, 70 * time.Hour},
		{"0", 100 * time.Hour, 70 * time.Hour},
		{"oops", 100 * time.Hour, 70 * time.Hour},
	} {
		c := Credential{RenewBefore: tc.renewBefore}
		if got := c.RenewAt(issued, issued.Add(tc.life)); !got.Equal(issued.Add(tc.want)) {
			t.Errorf("renewBefore %s, lifetime %s: due at +%s, want +%s", tc.renewBefore, tc.life, got.Sub(issued), tc.want)
		}
	}
}

// wantProblems: err is an *InvalidError listing exactly the problems want (each a substring of
// one problem with its path).
func wantProblems(t *testing.T, err error, want []string) {
	t.Helper()
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("want *InvalidError, got %v", err)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	if len(inv.Errs) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(inv.Errs), len(want), msg)
	}
}
