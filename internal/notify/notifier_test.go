package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rotatorhq/rotator/internal/metrics"
)

// recorder is an httptest receiver answering each request with the next status of statuses
// (the last one repeats) and recording each body and its time.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	bodies   []string
	times    []time.Time
	block    chan struct{} // when set, every request waits for it
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.block != nil {
		<-r.block
	}
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	i := min(len(r.bodies), len(r.statuses)-1)
	r.bodies = append(r.bodies, string(b))
	r.times = append(r.times, time.Now())
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.statuses[i])
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.bodies) }

type rig struct {
	n   *Notifier
	rec *recorder
	srv *httptest.Server
	reg *prometheus.Registry
}

func newRig(t *testing.T, rec *recorder, w Webhook, o Options) *rig {
	t.Helper()
	r := &rig{rec: rec, srv: httptest.NewServer(rec), reg: prometheus.NewRegistry()}
	t.Cleanup(r.srv.Close)
	if w.Name == "" {
		w.Name = "ops"
	}
	if w.URL == nil {
		w.URL = func(context.Context) (string, error) { return r.srv.URL + "/services/T1/B2/SecretPath", nil }
	}
	if w.Events == nil {
		w.Events = []Kind{KindRotationFailed, KindRolledBack, KindRevocationHeld, KindExpiryApproaching}
	}
	if w.Timeout == 0 {
		w.Timeout = 2 * time.Second
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = 4
	}
	o.Metrics = metrics.NewNotifications(r.reg)
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Millisecond
	}
	r.n = New([]Webhook{w}, o)
	ctx, cancel := context.WithCancel(context.Background())
	r.n.Start(ctx)
	t.Cleanup(func() { cancel(); r.n.Stop() })
	return r
}

// counted is rotator_notifications_total{kind,result}.
func (r *rig) counted(kind Kind, result string) float64 {
	mfs, err := r.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == string(kind) && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var failed = samples["failure"]

// Retries: a network-level answer that may heal (5xx, 429) is retried, with the receiver's
// Retry-After respected; any other 4xx is final; attempts stop at MaxAttempts.
func TestDeliveryRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		statuses   []int
		header     http.Header
		wantCalls  int
		wantResult string
		minGap     time.Duration
	}{
		{"500 then ok", []int{500, 502, 200}, nil, 3, "sent", 0},
		{"429 with Retry-After", []int{429, 200}, http.Header{"Retry-After": {"1"}}, 2, "sent", time.Second},
		{"400 is final", []int{400, 200}, nil, 1, "failed", 0},
		{"404 is final", []int{404, 200}, nil, 1, "failed", 0},
		{"gives up after maxAttempts", []int{503}, nil, 4, "failed", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, &recorder{statuses: tc.statuses, header: tc.header}, Webhook{}, Options{})
			r.n.Notify(failed)
			waitFor(t, "the result", func() bool { return r.counted(KindRotationFailed, tc.wantResult) == 1 })
			time.Sleep(20 * time.Millisecond) // a wrong extra attempt would arrive meanwhile
			if got := r.rec.count(); got != tc.wantCalls {
				t.Fatalf("%d calls, want %d", got, tc.wantCalls)
			}
			if tc.minGap > 0 {
				if gap := r.rec.times[1].Sub(r.rec.times[0]); gap < tc.minGap-50*time.Millisecond {
					t.Fatalf("retried after %v, before Retry-After %v", gap, tc.minGap)
				}
			}
		})
	}
}

// The same notification is sent once per repeat interval; a different one at once; a failed
// delivery is forgotten, so the next occurrence is sent.
func TestDeduplication(t *testing.T) {
	now := at
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := newRig(t, &recorder{statuses: []int{200}}, Webhook{RepeatInterval: 24 * time.Hour}, Options{Now: clock})

	r.n.Notify(failed)
	waitFor(t, "the first", func() bool { return r.rec.count() == 1 })
	r.n.Notify(failed)
	advance(23 * time.Hour)
	r.n.Notify(failed)
	if r.counted(KindRotationFailed, "suppressed") != 2 {
		t.Fatalf("suppressed: %v", r.counted(KindRotationFailed, "suppressed"))
	}
	retry := failed.(RotationFailed)
	retry.Errors, retry.ConsecutiveFailures = []string{"verify robot$x-2: refused"}, 4 // the same streak
	r.n.Notify(retry)
	other := retry
	other.Cause = "permanent"
	r.n.Notify(other)
	waitFor(t, "a new cause at once", func() bool { return r.rec.count() == 2 })
	advance(time.Hour)
	r.n.Notify(failed)
	waitFor(t, "the same one after the interval", func() bool { return r.rec.count() == 3 })

	held := samples["revocation-held"].(RevocationHeld)
	r.n.Notify(held)
	r.n.Notify(held)
	waitFor(t, "held once", func() bool { return r.rec.count() == 4 })
	changed := held
	changed.Held = []Ref{held.Held[0]}
	changed.Held[0].HeldBy = []string{"team-a"}
	r.n.Notify(changed)
	waitFor(t, "held again once it changes", func() bool { return r.rec.count() == 5 })
	time.Sleep(20 * time.Millisecond)
	if got := r.rec.count(); got != 5 {
		t.Fatalf("%d sent, want 5", got)
	}
}

// A failed delivery does not count as sent for deduplication.
func TestFailedDeliveryIsNotDeduplicated(t *testing.T) {
	r := newRig(t, &recorder{statuses: []int{400, 200}}, Webhook{RepeatInterval: time.Hour}, Options{})
	r.n.Notify(failed)
	waitFor(t, "the failure", func() bool { return r.counted(KindRotationFailed, "failed") == 1 })
	r.n.Notify(failed)
	waitFor(t, "the retry of the occurrence", func() bool { return r.counted(KindRotationFailed, "sent") == 1 })
}

// A receiver that hangs never blocks Notify: past the queue, notifications are dropped and
// counted.
func TestQueueFullNeverBlocks(t *testing.T) {
	rec := &recorder{statuses: []int{200}, block: make(chan struct{})}
	r := newRig(t, rec, Webhook{RepeatInterval: 0}, Options{QueueSize: 2})
	defer close(rec.block)
	done := make(chan struct{})
	go func() {
		for i := range 50 {
			n := failed.(RotationFailed)
			n.ConsecutiveFailures = i
			r.n.Notify(n)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Notify blocked on a full queue")
	}
	// One in flight (held by the receiver), two queued, the rest dropped.
	if d := r.counted(KindRotationFailed, "dropped"); d < 47 {
		t.Fatalf("dropped %v, want at least 47", d)
	}
}

// Only the kinds a webhook asked for are sent to it.
func TestEventsFilter(t *testing.T) {
	r := newRig(t, &recorder{statuses: []int{200}}, Webhook{Events: []Kind{KindExpiryApproaching}}, Options{})
	r.n.Notify(failed)
	r.n.Notify(samples["expiry-approaching"])
	waitFor(t, "expiry", func() bool { return r.rec.count() == 1 })
	time.Sleep(20 * time.Millisecond)
	if r.rec.count() != 1 || !strings.Contains(r.rec.bodies[0], `"expiry-approaching"`) {
		t.Fatalf("sent: %v", r.rec.bodies)
	}
}

// The webhook URL is a secret (Slack's are): an error of delivery names its host only, and the
// log never holds its path, even when net/http's error quotes the URL.
func TestURLNeverInErrorsOrLogs(t *testing.T) {
	var logs strings.Builder
	var lmu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { lmu.Lock(); defer lmu.Unlock(); return logs.Write(p) })
	var attempts atomic.Int32
	r := newRig(t, &recorder{statuses: []int{200}}, Webhook{MaxAttempts: 2, URL: func(context.Context) (string, error) {
		attempts.Add(1)
		return "http://127.0.0.1:1/services/T1/B2/SecretPath?token=SecretQuery", nil // nothing listens
	}}, Options{Logger: newTextLogger(w)})
	r.n.Notify(failed)
	waitFor(t, "the failure", func() bool { return r.counted(KindRotationFailed, "failed") == 1 })
	lmu.Lock()
	defer lmu.Unlock()
	if attempts.Load() != 2 {
		t.Fatalf("a connection error is retried: %d attempts", attempts.Load())
	}
	if strings.Contains(logs.String(), "SecretPath") || strings.Contains(logs.String(), "SecretQuery") || !strings.Contains(logs.String(), "127.0.0.1:1") {
		t.Fatalf("log must name the host only:\n%s", logs.String())
	}
}
