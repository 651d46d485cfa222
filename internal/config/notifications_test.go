package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const notifyCred = `
credentials:
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`

func TestWebhookDefaults(t *testing.T) {
	c, err := Parse([]byte(`
notifications:
  webhooks:
  - name: ops
    urlFrom: {env: OPS_WEBHOOK_URL}
`+notifyCred), "test")
	if err != nil {
		t.Fatal(err)
	}
	w := c.Notifications.Webhooks[0]
	if w.Format != WebhookFormatJSON || !slices.Equal(w.Events, WebhookEvents) || w.Timeout.Duration != 10*time.Second ||
		w.MaxAttempts != 5 || w.RepeatInterval.Duration != 24*time.Hour {
		t.Fatalf("defaults: %+v", w)
	}
}

// Every problem of the webhooks is reported at once with its path, and a URL given in the
// config is never a field: it must come from a secret source.
func TestWebhookValidation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"every problem", `
notifications:
  webhooks:
  - name: Bad_Name
    urlFrom: {}
    format: teams
    events: [failure, failure, exploded]
    timeout: 0
    maxAttempts: 99
    repeatInterval: -1h
  - name: ok
    urlFrom: {env: A, file: /b}
  - name: ok
    urlFrom: {env: A}
`, []string{
			"notifications.webhooks[0].name: Invalid value",
			"notifications.webhooks[0].urlFrom: Required value",
			`notifications.webhooks[0].format: Unsupported value: "teams"`,
			`notifications.webhooks[0].events[1]: Duplicate value: "failure"`,
			`notifications.webhooks[0].events[2]: Unsupported value: "exploded"`,
			"notifications.webhooks[0].timeout: Invalid value",
			"notifications.webhooks[0].maxAttempts: Invalid value: 99",
			"notifications.webhooks[0].repeatInterval: Invalid value",
			"notifications.webhooks[1].urlFrom: Invalid value",
			`notifications.webhooks[2].name: Duplicate value: "ok"`,
		}},
		{"a url field is unknown", `
notifications:
  webhooks:
  - name: ops
    url: https://hooks.slack.com/services/T000/B000/XXXXSECRET
`, []string{`unknown field "url"`}},
		{"vault needs the vault section", `
notifications:
  webhooks:
  - name: ops
    urlFrom: {vault: {path: secret/data/rotator/slack, key: url}}
`, []string{"needed by notifications.webhooks[0].urlFrom.vault"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml+notifyCred), "c.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "XXXXSECRET") {
				t.Errorf("the error echoes the URL: %v", err)
			}
		})
	}
}
