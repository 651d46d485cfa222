package metrics

import "github.com/prometheus/client_golang/prometheus"

// bindingMetrics are the ServiceAccount bindings the rotator gave up on (bindguard).
type bindingMetrics struct {
	conflicts *prometheus.CounterVec
	givenUp   prometheus.Gauge
}

func newBindingMetrics(reg prometheus.Registerer) bindingMetrics {
	b := bindingMetrics{
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotator_binding_conflicts_total",
			Help: "ServiceAccount bindings given up because someone else (a GitOps tool) kept removing the rotator's imagePullSecrets entry, by credential (docs/gitops.md).",
		}, []string{"credential"}),
		givenUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rotator_bindings_given_up",
			Help: "ServiceAccounts whose imagePullSecrets entry the rotator currently does not re-add, after a conflict with their owner.",
		}),
	}
	reg.MustRegister(b.conflicts, b.givenUp)
	return b
}

// BindingConflict records one ServiceAccount binding of credential given up; givenUp is how
// many are given up now.
func (m *Metrics) BindingConflict(credential string, givenUp int) {
	if m == nil {
		return
	}
	m.bindings.conflicts.WithLabelValues(credential).Inc()
	m.bindings.givenUp.Set(float64(givenUp))
}

// BindingsGivenUp records how many ServiceAccount bindings are given up now.
func (m *Metrics) BindingsGivenUp(n int) {
	if m == nil {
		return
	}
	m.bindings.givenUp.Set(float64(n))
}
