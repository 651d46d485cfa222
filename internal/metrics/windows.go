package metrics

import "github.com/prometheus/client_golang/prometheus"

// Windows are the metrics of restart windows, kept apart from Metrics so that the service can
// count overrides without every one-shot command registering them. A nil *Windows records
// nothing.
type Windows struct {
	overrides *prometheus.CounterVec
}

// NewWindows registers the window metrics on reg.
func NewWindows(reg prometheus.Registerer) *Windows {
	w := &Windows{
		overrides: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotator_window_overrides_total",
			Help: "Rotations started outside every window because the credential would otherwise expire (or use up half of renewBefore) before the next window opens.",
		}, []string{"credential"}),
	}
	reg.MustRegister(w.overrides)
	return w
}

// Override counts one rotation of credential started outside every window.
func (w *Windows) Override(credential string) {
	if w == nil {
		return
	}
	w.overrides.WithLabelValues(credential).Inc()
}
