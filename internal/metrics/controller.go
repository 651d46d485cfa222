package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
)

// Controller holds the metrics of `rotator run`'s namespace controller: its work queue (as
// client-go's workqueue reports it, through QueueMetrics) and each namespace reconcile. A nil
// *Controller records nothing.
type Controller struct {
	depth      *prometheus.GaugeVec
	adds       *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	work       *prometheus.HistogramVec
	unfinished *prometheus.GaugeVec
	longest    *prometheus.GaugeVec
	retries    *prometheus.CounterVec
	reconciles *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	failing    *prometheus.GaugeVec
	throttled  *prometheus.CounterVec
}

// Reaction-sized buckets: a reconcile is a cache read and at most a few writes.
var reconcileBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30}

// NewController registers the controller's metrics on reg.
func NewController(reg prometheus.Registerer) *Controller {
	q := []string{"queue"}
	c := &Controller{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rotator_workqueue_depth",
			Help: "Namespaces waiting in the work queue for a reconcile."}, q),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rotator_workqueue_adds_total",
			Help: "Items added to the work queue."}, q),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rotator_workqueue_queue_duration_seconds",
			Help: "How long an item waits in the work queue before a worker takes it.", Buckets: reconcileBuckets}, q),
		work: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rotator_workqueue_work_duration_seconds",
			Help: "How long a worker takes for an item of the work queue.", Buckets: reconcileBuckets}, q),
		unfinished: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rotator_workqueue_unfinished_work_seconds",
			Help: "Seconds of work in progress not yet observed by work_duration; large values mean a stuck worker."}, q),
		longest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rotator_workqueue_longest_running_processor_seconds",
			Help: "How long the longest running worker has been at its item."}, q),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rotator_workqueue_retries_total",
			Help: "Items put back in the work queue after a failure, with back-off."}, q),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rotator_namespace_reconciles_total",
			Help: "Namespace reconciles by credential and outcome: in-sync, repaired, pruned, not-target, waiting, failed."},
			[]string{"credential", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rotator_namespace_reconcile_duration_seconds",
			Help: "Duration of one namespace reconcile by outcome (writes and the unstick of pods included).", Buckets: reconcileBuckets},
			[]string{"outcome"}),
	}
	c.failing = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rotator_namespaces_failing",
		Help: "Target namespaces whose last reconcile failed (they may not hold the current credential), by credential."},
		[]string{"credential"})
	c.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rotator_namespace_repairs_throttled_total",
		Help: "Times a namespace repaired too often (its managed Secret deleted or edited again and again) had its next repair put off, by credential."},
		[]string{"credential"})
	reg.MustRegister(c.depth, c.adds, c.latency, c.work, c.unfinished, c.longest, c.retries, c.reconciles, c.duration, c.failing, c.throttled)
	return c
}

// Throttled records a repair of one of credential's namespaces put off by its repair budget.
func (c *Controller) Throttled(credential string) {
	if c == nil {
		return
	}
	c.throttled.WithLabelValues(credential).Inc()
}

// Reconcile records one namespace reconcile.
func (c *Controller) Reconcile(credential, outcome string, d time.Duration) {
	if c == nil {
		return
	}
	c.reconciles.WithLabelValues(credential, outcome).Inc()
	c.duration.WithLabelValues(outcome).Observe(d.Seconds())
}

// Failing records how many of credential's namespaces failed their last reconcile.
func (c *Controller) Failing(credential string, n int) {
	if c == nil {
		return
	}
	c.failing.WithLabelValues(credential).Set(float64(n))
}

// QueueMetrics is the workqueue.MetricsProvider that reports into c (nil: client-go's no-op).
func (c *Controller) QueueMetrics() workqueue.MetricsProvider {
	if c == nil {
		return nil
	}
	return queueMetrics{c}
}

type queueMetrics struct{ c *Controller }

func (p queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.c.depth.WithLabelValues(name)
}
func (p queueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.c.adds.WithLabelValues(name)
}
func (p queueMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.c.latency.WithLabelValues(name)
}
func (p queueMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.c.work.WithLabelValues(name)
}
func (p queueMetrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.c.unfinished.WithLabelValues(name)
}
func (p queueMetrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.c.longest.WithLabelValues(name)
}
func (p queueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.c.retries.WithLabelValues(name)
}
