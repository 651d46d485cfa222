package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsValues(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	at := time.Unix(1700000000, 0)
	m.Run("h", "succeeded", at, 3*time.Second)
	m.Run("h", "failed", at, time.Second)
	m.Expiry("h", time.Unix(1800000000, 0))
	m.Leader(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	defer srv.Close()
	c := &http.Client{Transport: m.Instrument("harbor", nil)}
	resp, err := c.Get(srv.URL + "/api/v2.0/robots/42")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `
# HELP rotator_provider_api_calls_total HTTP calls to registry providers by provider, call (method and route) and status code.
# TYPE rotator_provider_api_calls_total counter
rotator_provider_api_calls_total{call="GET /api/v2.0/robots/{id}",code="404",provider="harbor"} 1
# HELP rotator_runs_total Runs per credential by result: succeeded, failed, nothing-due.
# TYPE rotator_runs_total counter
rotator_runs_total{credential="h",result="failed"} 1
rotator_runs_total{credential="h",result="succeeded"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rotator_provider_api_calls_total", "rotator_runs_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.runDuration); n != 2 {
		t.Fatalf("run duration histograms: %d series, want 2 (succeeded, failed)", n)
	}
	m.Restart("h", "lacks-secret")
	if v := testutil.ToFloat64(m.restarts.WithLabelValues("h", "lacks-secret")); v != 1 {
		t.Fatalf("restarts %v", v)
	}
	if v := testutil.ToFloat64(m.lastSuccess.WithLabelValues("h")); v != 1700000000 {
		t.Fatalf("last success %v", v)
	}
	if v := testutil.ToFloat64(m.credentialExpiry.WithLabelValues("h")); v != 1800000000 {
		t.Fatalf("expiry %v", v)
	}
	if v := testutil.ToFloat64(m.leader); v != 1 {
		t.Fatalf("leader %v", v)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.Run("x", "failed", time.Now(), time.Second)
	m.Restart("x", "lacks-secret")
	m.Liveness("x", "alive")
	m.Leader(true)
	if m.Instrument("p", http.DefaultTransport) != http.DefaultTransport {
		t.Fatal("nil metrics must not wrap")
	}
}

// After a restart the last success comes from the state: set when the process knows none, never
// moved back by an older record.
func TestRestoreLastSuccess(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.RestoreLastSuccess("h", time.Unix(1700000000, 0))
	if v := testutil.ToFloat64(m.lastSuccess.WithLabelValues("h")); v != 1700000000 {
		t.Fatalf("restored %v", v)
	}
	m.Run("h", "succeeded", time.Unix(1800000000, 0), time.Second)
	m.RestoreLastSuccess("h", time.Unix(1700000000, 0))
	if v := testutil.ToFloat64(m.lastSuccess.WithLabelValues("h")); v != 1800000000 {
		t.Fatalf("an older state record moved the last success back to %v", v)
	}
}
