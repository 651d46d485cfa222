package events

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
)

// deadlineSpy is a rate limiter that notes whether the request waiting on it has a deadline.
type deadlineSpy struct{ sawDeadline, waits atomic.Int32 }

func (s *deadlineSpy) Wait(ctx context.Context) error {
	s.waits.Add(1)
	if _, ok := ctx.Deadline(); ok {
		s.sawDeadline.Add(1)
	}
	return nil
}
func (s *deadlineSpy) Accept()         {}
func (s *deadlineSpy) TryAccept() bool { return true }
func (s *deadlineSpy) Stop()           {}
func (s *deadlineSpy) QPS() float32    { return 1 }

// The wait for a token may last as long as the writes that go first: no deadline may cut it
// short and drop the event (the client bounds the request itself).
func TestNoDeadlineAroundTheWaitForTheRateLimit(t *testing.T) {
	var created atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		created.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"kind":"Event","apiVersion":"v1","metadata":{"name":"x","namespace":"shop"}}`))
	}))
	defer srv.Close()
	spy := &deadlineSpy{}
	c, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, RateLimiter: spy})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &Recorder{Client: c, Clock: testingclock.NewFakeClock(time.Now()), Background: true}
	r.Normal(ctx, Secret("shop", "pull"), ReasonRotated, "rotated")
	r.Flush(ctx)
	if spy.waits.Load() != 1 || created.Load() != 1 {
		t.Fatalf("%d waits, %d events created; want 1 and 1", spy.waits.Load(), created.Load())
	}
	if spy.sawDeadline.Load() != 0 {
		t.Fatal("the event waited for the rate limit under a deadline")
	}
}
