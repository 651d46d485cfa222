package metrics

import "github.com/prometheus/client_golang/prometheus"

// Notifications count webhook notifications. A nil *Notifications records nothing.
type Notifications struct {
	total *prometheus.CounterVec
}

// NewNotifications registers the notification metrics on reg.
func NewNotifications(reg prometheus.Registerer) *Notifications {
	n := &Notifications{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rotator_notifications_total",
		Help: "Webhook notifications by kind (failure, rollback, revocation-held, expiry-approaching) and result: sent, failed (every attempt failed or the receiver refused it), dropped (the queue was full), suppressed (sent already within repeatInterval).",
	}, []string{"kind", "result"})}
	reg.MustRegister(n.total)
	return n
}

// Count one notification of kind with result.
func (n *Notifications) Count(kind, result string) {
	if n == nil {
		return
	}
	n.total.WithLabelValues(kind, result).Inc()
}
