// Package kubeclient builds the rotator's Kubernetes clients from one rest.Config: the client
// that reads and writes, and the one that records Events, under one shared rate limit in which
// Events yield to everything else.
package kubeclient

import (
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// EventsTimeout bounds one request of the events client, from the moment it is sent: the wait
// for a rate-limit token before it is not bounded (events.Recorder puts no deadline on it).
const EventsTimeout = 10 * time.Second

// MainTimeout bounds one request of the main client. Its lists are paged (500 objects) and it
// opens no watches (the informers have clients of their own), so a request that takes this long is a stalled API server: without a bound
// one stall would freeze `rotator run` for every credential while /healthz still says ok.
const MainTimeout = 60 * time.Second

// Clients are the two clients of one process.
type Clients struct {
	// Main reads and writes Secrets, ServiceAccounts, workloads, leases and state.
	Main kubernetes.Interface
	// Events records Events; its requests wait while Main's wait for the rate limit.
	Events kubernetes.Interface
	// Watch and Metadata feed the informers of `rotator run` (full objects and metadata only):
	// no request timeout, since a watch is meant to stay open; the same rate limit as Main.
	Watch    kubernetes.Interface
	Metadata metadata.Interface
}

// New builds both clients from rc (not modified) with userAgent, at qps and burst together.
func New(rc *rest.Config, userAgent string, qps float32, burst int) (Clients, error) {
	if qps <= 0 || burst <= 0 {
		return Clients{}, fmt.Errorf("kubernetes client: qps and burst must be positive (got %g and %d)", qps, burst)
	}
	b := newBudget(qps, burst)
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return withFieldManager{next: rt} })
	mainCfg, eventsCfg := rest.CopyConfig(rc), rest.CopyConfig(rc)
	mainCfg.UserAgent, eventsCfg.UserAgent = userAgent, userAgent
	eventsCfg.Timeout = EventsTimeout
	mainCfg.Timeout = MainTimeout
	mainCfg.RateLimiter = first{b}
	// 1/qps: a writer that waits needs about one token's time to get it.
	eventsCfg.RateLimiter = yielding{b: b, recheck: max(time.Duration(float64(time.Second)/float64(qps)), time.Millisecond)}
	main, err := kubernetes.NewForConfig(mainCfg)
	if err != nil {
		return Clients{}, err
	}
	events, err := kubernetes.NewForConfig(eventsCfg)
	if err != nil {
		return Clients{}, err
	}
	watchCfg := rest.CopyConfig(rc)
	watchCfg.UserAgent, watchCfg.RateLimiter = userAgent, first{b}
	watch, err := kubernetes.NewForConfig(watchCfg)
	if err != nil {
		return Clients{}, err
	}
	meta, err := metadata.NewForConfig(watchCfg)
	if err != nil {
		return Clients{}, err
	}
	return Clients{Main: main, Events: events, Watch: watch, Metadata: meta}, nil
}
