package config

import (
	"strings"
	"testing"
)

const pacingCred = `
credentials:
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com/", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`

func TestPacingDefaultsAndValidation(t *testing.T) {
	c, err := Parse([]byte(pacingCred), "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubernetes.RestartsPerMinute != 60 || c.Kubernetes.MaxUnstickPerRun != 50 {
		t.Fatalf("pacing defaults: %+v", c.Kubernetes)
	}
	c, err = Parse([]byte("kubernetes: {restartsPerMinute: 600, maxUnstickPerRun: 5}\n"+pacingCred), "test")
	if err != nil || c.Kubernetes.RestartsPerMinute != 600 || c.Kubernetes.MaxUnstickPerRun != 5 {
		t.Fatalf("set values: %+v %v", c, err)
	}
	_, err = Parse([]byte("kubernetes: {restartsPerMinute: -1, maxUnstickPerRun: -2}\n"+pacingCred), "test")
	if err == nil {
		t.Fatal("negative pacing accepted")
	}
	for _, s := range []string{"kubernetes.restartsPerMinute", "between 1 and 6000", "kubernetes.maxUnstickPerRun", "at least 1"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if _, err = Parse([]byte("kubernetes: {restartsPerMinute: 6001}\n"+pacingCred), "test"); err == nil {
		t.Error("restartsPerMinute 6001 accepted")
	}
}
