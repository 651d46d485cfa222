//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a local webhook receiver: it answers the first fail requests 503 (the notifier
// must retry) and records the bodies of the others.
type receiver struct {
	mu     sync.Mutex
	fail   int
	calls  int
	bodies [][]byte
	paths  []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.bodies = append(r.bodies, b)
	r.paths = append(r.paths, req.URL.Path)
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) received() ([][]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), r.calls
}

// A rotation that fails under `rotator run` reaches the webhook as the failure payload (after a
// retry of a 503), with the facts a person needs and no secret: neither the Harbor password, nor
// the webhook URL's own secret path (also absent from the logs).
func TestServiceNotifiesWebhookOfFailure(t *testing.T) {
	nss := namespaces(t, "notify", 1)
	rec := &receiver{fail: 1}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	const secretPath = "/services/T0NOTIFY/B0NOTIFY/WebhookSecretPath123"

	// A verify image the credential may not pull: the registry refuses it, the run fails.
	cfg := rotatorConfig(t, cfgOpts{name: "notify", namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{rig.Images["proj-b"]}})
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = writeFile(t, "notify.yaml", `notifications:
  webhooks:
  - name: ops
    urlFrom: {env: ROTATOR_TEST_WEBHOOK_URL}
    events: [failure]
`+string(b))
	svc := startServiceWith(t, rotatorBin, []string{"ROTATOR_TEST_WEBHOOK_URL=" + srv.URL + secretPath}, cfg)

	var payload struct {
		Version    string `json:"version"`
		Kind       string `json:"kind"`
		Credential struct{ Name, Provider, Registry string }
		Summary    string `json:"summary"`
		Failure    struct {
			Cause               string   `json:"cause"`
			Errors              []string `json:"errors"`
			ConsecutiveFailures int      `json:"consecutiveFailures"`
		} `json:"failure"`
	}
	var body []byte
	eventually(t, 90*time.Second, "the webhook receives the failure payload", func() (bool, string) {
		bodies, calls := rec.received()
		if len(bodies) == 0 {
			return false, fmt.Sprintf("%d call(s) so far", calls)
		}
		body = bodies[0]
		return true, ""
	})
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, body)
	}
	if payload.Version != "rotator.dev/v1" || payload.Kind != "failure" || payload.Credential.Name != "notify" ||
		payload.Credential.Provider != "harbor" || len(payload.Failure.Errors) == 0 || payload.Failure.ConsecutiveFailures != 1 ||
		!strings.Contains(strings.Join(payload.Failure.Errors, "\n"), rig.Images["proj-b"]) {
		t.Fatalf("failure payload lacks its facts:\n%s", body)
	}
	if _, calls := rec.received(); calls < 2 {
		t.Fatalf("the 503 was not retried: %d calls", calls)
	}
	if rec.paths[0] != secretPath {
		t.Fatalf("posted to %q, want the configured URL's path", rec.paths[0])
	}
	secrets := []string{rig.HarborPassword, secretPath, "WebhookSecretPath123"}
	for _, s := range secrets {
		if strings.Contains(string(body), s) {
			t.Errorf("the payload holds a secret %q:\n%s", s, body)
		}
	}
	if strings.Contains(svc.stderr.String(), "WebhookSecretPath123") {
		t.Errorf("the log holds the webhook URL's secret path:\n%s", svc.stderr.String())
	}
	eventually(t, 10*time.Second, "rotator_notifications_total counts it", func() (bool, string) {
		v := svc.metric(`rotator_notifications_total{kind="failure",result="sent"}`)
		return v == 1, fmt.Sprintf("value %v", v)
	})
}
