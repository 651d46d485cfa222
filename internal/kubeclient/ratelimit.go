package kubeclient

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/flowcontrol"
)

// budget is one client rate limit shared by two clients: the one that reads and writes what
// fixes pulls, and the one that records Events about it. Events only take a token when no
// request of the first kind is waiting for one, so at 300 namespaces the 900 Events of a run
// neither delay its 1,200 writes nor push the process past the configured QPS: they are sent
// when the writers pause (during a rollout wait, or after the writes).
type budget struct {
	bucket  *rate.Limiter
	waiting atomic.Int64 // first-class callers inside Wait
	qps     float32
}

func newBudget(qps float32, burst int) *budget {
	return &budget{bucket: rate.NewLimiter(rate.Limit(qps), burst), qps: qps}
}

// first is the limiter of the main client: an ordinary token bucket, which also tells the
// events limiter that someone is waiting.
type first struct{ b *budget }

// yielding is the limiter of the events client.
type yielding struct {
	b *budget
	// recheck is how long it sleeps before it looks again while writers wait.
	recheck time.Duration
}

func (l first) Wait(ctx context.Context) error {
	l.b.waiting.Add(1)
	defer l.b.waiting.Add(-1)
	return l.b.bucket.Wait(ctx)
}

func (l first) Accept()         { _ = l.Wait(context.Background()) }
func (l first) TryAccept() bool { return l.b.bucket.Allow() }
func (l first) Stop()           {}
func (l first) QPS() float32    { return l.b.qps }

// Wait takes a token only when one is free now and no first-class caller waits. It never
// reserves a future token (as rate.Limiter.Wait does), so it never gets ahead of a writer that
// arrives after it.
func (l yielding) Wait(ctx context.Context) error {
	for {
		if l.TryAccept() {
			return nil
		}
		t := time.NewTimer(l.recheck)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (l yielding) Accept() { _ = l.Wait(context.Background()) }
func (l yielding) TryAccept() bool {
	return l.b.waiting.Load() == 0 && l.b.bucket.Allow()
}
func (l yielding) Stop()        {}
func (l yielding) QPS() float32 { return l.b.qps }

var (
	_ flowcontrol.RateLimiter = first{}
	_ flowcontrol.RateLimiter = yielding{}
)
