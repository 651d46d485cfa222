package config

import (
	"strings"
	"testing"
)

func TestRestartPolicy(t *testing.T) {
	const head = `
credentials:
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com/", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`
	for _, tc := range []struct {
		name, restart string
		policy        RestartPolicy
		canary        int
		err, warning  string
	}{
		{name: "default is IfNeeded", policy: RestartIfNeeded},
		{name: "canary defaults to one", restart: "{policy: Canary}", policy: RestartCanary, canary: 1},
		{name: "canary count kept", restart: "{policy: Canary, canary: 3}", policy: RestartCanary, canary: 3},
		{name: "disabled is the old Never", restart: "{disabled: true}", policy: RestartNever, warning: "credentials[0].restart.disabled is deprecated: write credentials[0].restart.policy: Never"},
		{name: "disabled with Never agrees", restart: "{disabled: true, policy: Never}", policy: RestartNever, warning: "deprecated"},
		{name: "disabled contradicting a policy", restart: "{disabled: true, policy: Always}", err: "credentials[0].restart.disabled: Invalid value: true: contradicts policy Always: remove disabled"},
		{name: "unknown policy", restart: "{policy: Sometimes}", err: `credentials[0].restart.policy: Unsupported value: "Sometimes": supported values: "IfNeeded", "Canary", "Always", "Never"`},
		{name: "negative canary", restart: "{policy: Canary, canary: -1}", err: "credentials[0].restart.canary: Invalid value: -1: must be at least 1"},
		{name: "canary with another policy is ignored, said", restart: "{policy: Always, canary: 2}", policy: RestartAlways, canary: 2, warning: "credentials[0].restart.canary is ignored with policy Always"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := head
			if tc.restart != "" {
				src += "  restart: " + tc.restart + "\n"
			}
			c, err := Parse([]byte(src), "test")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := c.Credentials[0].Restart
			if r.Policy != tc.policy || r.Canary != tc.canary {
				t.Errorf("policy %q canary %d, want %q %d", r.Policy, r.Canary, tc.policy, tc.canary)
			}
			w := strings.Join(Warnings(c), "\n")
			if (tc.warning == "") != (w == "") || !strings.Contains(w, tc.warning) {
				t.Errorf("warnings %q, want %q", w, tc.warning)
			}
		})
	}
}
