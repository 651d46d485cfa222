package restart

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// DefaultRestartsPerMinute is the pace of restarts when the config sets none: one a second. A
// restart replaces every pod of a workload, so its cost lands on the controller-manager, the
// scheduler, the kubelets and the registry rather than on the rotator's own requests. At one a
// second, workloads of three replicas start about three pods a second, well inside
// kube-controller-manager's default client rate (20 QPS) and what a registry serves without
// notice, while 200 workloads that do need a restart are done in under four minutes. A cluster
// that rolls faster raises it (kubernetes.restartsPerMinute).
const DefaultRestartsPerMinute = 60

// Pacer caps how many restarts start per minute, across every credential and Restarter of a
// process that share it: a weekly rotation of ten credentials must not roll ten times as fast as
// one. Tokens refill evenly (one every 60/perMinute seconds) and at most one is saved up, so a run
// never starts a burst of restarts after a quiet hour. A nil *Pacer does not pace.
//
// It wraps golang.org/x/time/rate, reading time from an injected clock so tests pace without
// sleeping. Safe for concurrent use.
type Pacer struct {
	lim   *rate.Limiter
	clock clock.Clock
}

// NewPacer paces at perMinute restarts a minute (DefaultRestartsPerMinute when perMinute <= 0).
// clk may be nil for the real clock.
func NewPacer(perMinute int, clk clock.Clock) *Pacer {
	if perMinute <= 0 {
		perMinute = DefaultRestartsPerMinute
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Pacer{lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), 1), clock: clk}
}

// PerMinute is the pace, for logs and the report.
func (p *Pacer) PerMinute() int {
	if p == nil {
		return 0
	}
	return int(float64(p.lim.Limit())*60 + 0.5)
}

// Wait blocks until one more restart may start, or ctx ends. A restart that does not happen
// because ctx ended gives its turn back.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	now := p.clock.Now()
	r := p.lim.ReserveN(now, 1)
	if !r.OK() { // burst is 1 and n is 1: cannot happen, but never wait forever
		return fmt.Errorf("restart pacer: cannot reserve a restart at %d a minute", p.PerMinute())
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	t := p.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		r.CancelAt(p.clock.Now())
		return fmt.Errorf("waiting for a restart slot (%d a minute, kubernetes.restartsPerMinute): %w", p.PerMinute(), ctx.Err())
	}
}
