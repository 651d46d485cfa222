// Package metrics defines rotator's Prometheus metrics, built by a constructor on a registry the
// caller injects (no init() globals), so tests read exact values from their own registry.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics of the rotator. A nil *Metrics is valid and records nothing, so one-shot commands
// need not carry a registry.
type Metrics struct {
	credentialExpiry *prometheus.GaugeVec
	lastSuccess      *prometheus.GaugeVec
	rotations        *prometheus.CounterVec
	apiCalls         *prometheus.CounterVec
	leader           prometheus.Gauge
	liveness         *prometheus.CounterVec
	runDuration      *prometheus.HistogramVec
	restarts         *prometheus.CounterVec
	renewAt          *prometheus.GaugeVec
	failing          *prometheus.GaugeVec
	bindings         bindingMetrics
}

// New registers rotator's metrics on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		credentialExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rotator_credential_expiry_timestamp_seconds",
			Help: "When the current credential expires (unix seconds); absent while none is issued, 0 if it never expires.",
		}, []string{"credential"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rotator_last_success_timestamp_seconds",
			Help: "When the last run of this credential that changed something succeeded (unix seconds).",
		}, []string{"credential"}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotator_runs_total",
			Help: "Runs per credential by result: succeeded, failed, nothing-due.",
		}, []string{"credential", "result"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotator_provider_api_calls_total",
			Help: "HTTP calls to registry providers by provider, call (method and route) and status code.",
		}, []string{"provider", "call", "code"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rotator_leader",
			Help: "1 while this replica is the leader (the one that rotates).",
		}),
		liveness: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotator_liveness_checks_total",
			Help: "Checks of a credential at the provider between scheduled runs, by result: alive, needs-run (a run followed), failed (the provider could not be asked).",
		}, []string{"credential", "result"}),
	}
	m.runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rotator_run_duration_seconds",
		Help:    "Duration of a credential's run (plan to revocation, rollout waits included) by result.",
		Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
	}, []string{"credential", "result"})
	m.restarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rotator_restarts_total",
		Help: "Workloads restarted (pod template patched) by credential and the reason of the restart decision.",
	}, []string{"credential", "reason"})
	m.renewAt = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rotator_credential_renew_at_timestamp_seconds",
		Help: "When the current credential is due for renewal (unix seconds): expiry minus renewBefore; absent when it never expires.",
	}, []string{"credential"})
	m.failing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rotator_credential_failing",
		Help: "1 while the credential's last run failed and is being retried with back-off, else 0.",
	}, []string{"credential"})
	reg.MustRegister(m.credentialExpiry, m.lastSuccess, m.rotations, m.apiCalls, m.leader, m.liveness, m.runDuration, m.restarts, m.renewAt, m.failing)
	m.bindings = newBindingMetrics(reg)
	return m
}

// Run records the outcome of one credential's run, which took took.
func (m *Metrics) Run(credential, result string, at time.Time, took time.Duration) {
	if m == nil {
		return
	}
	m.rotations.WithLabelValues(credential, result).Inc()
	m.runDuration.WithLabelValues(credential, result).Observe(took.Seconds())
	if result == "succeeded" {
		m.lastSuccess.WithLabelValues(credential).Set(float64(at.Unix()))
	}
}

// RestoreLastSuccess sets the last success of credential from its state (at, never zero), unless a
// later one was recorded by this process already.
func (m *Metrics) RestoreLastSuccess(credential string, at time.Time) {
	if m == nil {
		return
	}
	g := m.lastSuccess.WithLabelValues(credential)
	var cur dto.Metric
	if err := g.Write(&cur); err == nil && cur.GetGauge().GetValue() >= float64(at.Unix()) {
		return
	}
	g.Set(float64(at.Unix()))
}

// RenewAt records when credential's current credential is due for renewal (zero: never).
func (m *Metrics) RenewAt(credential string, at time.Time) {
	if m == nil {
		return
	}
	if at.IsZero() {
		m.renewAt.DeleteLabelValues(credential)
		return
	}
	m.renewAt.WithLabelValues(credential).Set(float64(at.Unix()))
}

// Failing records whether credential's last run failed.
func (m *Metrics) Failing(credential string, failing bool) {
	if m == nil {
		return
	}
	v := 0.0
	if failing {
		v = 1
	}
	m.failing.WithLabelValues(credential).Set(v)
}

// Restart records one workload restarted for credential, for reason.
func (m *Metrics) Restart(credential, reason string) {
	if m == nil {
		return
	}
	m.restarts.WithLabelValues(credential, reason).Inc()
}

// Liveness records one liveness check of credential: alive, needs-run or failed.
func (m *Metrics) Liveness(credential, result string) {
	if m == nil {
		return
	}
	m.liveness.WithLabelValues(credential, result).Inc()
}

// Expiry records when credential's current credential expires (zero: never).
func (m *Metrics) Expiry(credential string, expires time.Time) {
	if m == nil {
		return
	}
	v := 0.0
	if !expires.IsZero() {
		v = float64(expires.Unix())
	}
	m.credentialExpiry.WithLabelValues(credential).Set(v)
}

// Leader records whether this replica leads.
func (m *Metrics) Leader(leading bool) {
	if m == nil {
		return
	}
	if leading {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// APICall counts one provider HTTP call.
func (m *Metrics) APICall(provider, call string, code int) {
	if m == nil {
		return
	}
	m.apiCalls.WithLabelValues(provider, call, codeLabel(code)).Inc()
}
