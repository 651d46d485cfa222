package metrics

import "github.com/prometheus/client_golang/prometheus"

// Fleet holds the metrics of `rotator run` across the clusters of a fleet: for each member,
// whether its API server answers and whether this replica serves it (leads its shard). A nil
// *Fleet records nothing.
type Fleet struct {
	up      *prometheus.GaugeVec
	leading *prometheus.GaugeVec
}

// NewFleet registers the fleet's metrics on reg.
func NewFleet(reg prometheus.Registerer) *Fleet {
	f := &Fleet{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rotator_cluster_up",
			Help: "1 when the fleet member's API server answered the last probe of the replica serving it, 0 when it did not (or its kubeconfig could not be read).",
		}, []string{"cluster"}),
		leading: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rotator_cluster_leading",
			Help: "1 when this replica leads the cluster's shard (Lease rotator-leader.<cluster>) and so rotates and repairs it.",
		}, []string{"cluster"}),
	}
	reg.MustRegister(f.up, f.leading)
	return f
}

// Up records whether member cluster answers.
func (f *Fleet) Up(cluster string, up bool) {
	if f != nil {
		f.up.WithLabelValues(cluster).Set(gauge(up))
	}
}

// Leading records whether this replica leads member cluster's shard.
func (f *Fleet) Leading(cluster string, leading bool) {
	if f != nil {
		f.leading.WithLabelValues(cluster).Set(gauge(leading))
	}
}

func gauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
