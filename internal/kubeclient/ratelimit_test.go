package kubeclient

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// An Event that asks first still waits for the writers that arrive after it.
func TestEventsYieldToWaitingWriters(t *testing.T) {
	b := newBudget(20, 1) // a token every 50ms
	w, ev := first{b}, yielding{b: b, recheck: time.Millisecond}
	if !w.TryAccept() {
		t.Fatal("burst token not available")
	}

	var writes atomic.Int64
	eventAfter := make(chan int64, 1)
	go func() {
		if err := ev.Wait(context.Background()); err != nil {
			t.Error(err)
		}
		eventAfter <- writes.Load()
	}()
	time.Sleep(5 * time.Millisecond) // the event waits first

	const writers, each = 3, 2
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := w.Wait(context.Background()); err != nil {
					t.Error(err)
				}
				writes.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := <-eventAfter; got != writers*each {
		t.Fatalf("the event got its token after %d of %d writes, want after all of them", got, writers*each)
	}
}

// Both clients spend one budget: what Events take, writes cannot, and the other way round.
func TestOneBudgetForBoth(t *testing.T) {
	b := newBudget(0.001, 3) // no refill within the test
	w, ev := first{b}, yielding{b: b, recheck: time.Millisecond}
	if !ev.TryAccept() || !w.TryAccept() || !w.TryAccept() {
		t.Fatal("the burst of 3 was not available to the two clients together")
	}
	if w.TryAccept() || ev.TryAccept() {
		t.Fatal("a fourth token within a burst of 3")
	}
	if w.QPS() != ev.QPS() {
		t.Fatalf("QPS %g and %g, want one budget", w.QPS(), ev.QPS())
	}
}

func TestEventsWaitEndsWithContext(t *testing.T) {
	b := newBudget(0.001, 1)
	first{b}.TryAccept()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := (yielding{b: b, recheck: time.Millisecond}).Wait(ctx); err == nil {
		t.Fatal("Wait returned nil with no token and the context ended")
	}
}

func TestNewRejectsNoLimit(t *testing.T) {
	if _, err := New(nil, "rotator", 0, 10); err == nil {
		t.Fatal("qps 0 accepted")
	}
}

// The events client bounds each request itself, since nothing bounds its wait for a token.
func TestEventsClientBoundsItsRequests(t *testing.T) {
	c, err := New(&rest.Config{Host: "https://127.0.0.1:1"}, "rotator", 10, 20)
	if err != nil {
		t.Fatal(err)
	}
	rc, ok := c.Events.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc.Client == nil || rc.Client.Timeout != EventsTimeout {
		t.Fatalf("events client: %T, want a request timeout of %s", c.Events.CoreV1().RESTClient(), EventsTimeout)
	}
	if mc := c.Main.CoreV1().RESTClient().(*rest.RESTClient); mc.Client.Timeout != MainTimeout {
		t.Fatalf("main client timeout %s, want %s: a stalled API server must not freeze a run", mc.Client.Timeout, MainTimeout)
	}
}
