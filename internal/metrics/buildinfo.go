package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rotatorhq/rotator/internal/version"
)

// RegisterBuildInfo registers rotator_build_info, always 1, whose labels say which build runs:
// dashboards join on it, and an alert can tell replicas of different versions apart.
func RegisterBuildInfo(reg prometheus.Registerer, info version.Info) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "rotator_build_info",
		Help:        "Always 1; the labels name the running build of rotator.",
		ConstLabels: prometheus.Labels{"version": info.Version, "revision": info.Revision, "goversion": info.GoVersion},
	})
	g.Set(1)
	reg.MustRegister(g)
}
