package events

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

// A Background Recorder returns at once, writes every event through one sender, and Flush waits
// for the last of them.
func TestBackgroundOneSenderAndFlush(t *testing.T) {
	c := fake.NewClientset()
	release := make(chan struct{})
	var inFlight, most, created atomic.Int32
	c.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		created.Add(1)
		return false, nil, nil
	})
	r := &Recorder{Client: c, Clock: clock.RealClock{}, Background: true}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Normal(context.Background(), Secret("ns", fmt.Sprintf("s%d", i)), ReasonRotated, "now holds %d", i)
		}()
	}
	wg.Wait() // every Normal returned while the sender is still blocked: recording does not wait
	if created.Load() != 0 {
		t.Fatalf("%d events written before the sender was released", created.Load())
	}
	close(release)
	if dropped := r.Flush(context.Background()); dropped != 0 {
		t.Fatalf("Flush dropped %d events", dropped)
	}
	if created.Load() != 40 {
		t.Fatalf("%d events written after Flush, want 40", created.Load())
	}
	if most.Load() != 1 {
		t.Errorf("%d events were written at once, want one sender", most.Load())
	}
	// The queue is empty and the sender gone: Flush returns at once, and recording starts anew.
	r.Normal(context.Background(), Secret("ns", "again"), ReasonRotated, "again")
	r.Flush(context.Background())
	if created.Load() != 41 {
		t.Errorf("%d events after a second round, want 41", created.Load())
	}
}

// Flush with an ended context drops what is still queued instead of waiting for it.
func TestBackgroundFlushDropsWhenStopped(t *testing.T) {
	c := fake.NewClientset()
	block, sending := make(chan struct{}), make(chan struct{}, 10)
	defer close(block)
	c.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		sending <- struct{}{}
		<-block
		return false, nil, nil
	})
	r := &Recorder{Client: c, Clock: clock.RealClock{}, Background: true}
	for i := range 5 {
		r.Normal(context.Background(), Secret("ns", fmt.Sprint(i)), ReasonRotated, "x")
	}
	<-sending // the sender holds the first event
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan int, 1)
	go func() { done <- r.Flush(ctx) }()
	select {
	case dropped := <-done:
		// The first event is in flight in the blocked sender; the other four are dropped.
		if dropped != 4 {
			t.Errorf("dropped %d, want 4", dropped)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flush waited for a blocked sender although its context had ended")
	}
}

// Without Background, Flush has nothing to do and a nil Recorder is safe.
func TestFlushSynchronousAndNil(t *testing.T) {
	c := fake.NewClientset()
	r := &Recorder{Client: c, Clock: clock.RealClock{}}
	r.Normal(context.Background(), Secret("ns", "s"), ReasonRotated, "x")
	if n := len(c.Actions()); n != 1 {
		t.Fatalf("%d actions, want the event written inline", n)
	}
	if r.Flush(context.Background()) != 0 || (*Recorder)(nil).Flush(context.Background()) != 0 {
		t.Fatal("Flush dropped events it never had")
	}
}

// BenchmarkBackgroundQueued is the heap a Background Recorder holds for each event queued while
// its sender waits (a run's writes take every token: 10,000 queued at 10,000 namespaces, issue
// 17): B/queued.
func BenchmarkBackgroundQueued(b *testing.B) {
	const n = 10000
	for b.Loop() {
		c := fake.NewClientset()
		release := make(chan struct{})
		c.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
			<-release
			return true, nil, nil
		})
		r := &Recorder{Client: c, Clock: clock.RealClock{}, Background: true, Instance: "rotator-0"}
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		for i := range n {
			r.Normal(context.Background(), Secret(fmt.Sprintf("ns-%05d", i), "harbor-pull").WithUID("0f6b4a2c-5a34-4f5e-9d1e-2c3b4a5d6e7f"), ReasonRotated,
				"now holds %s (id %s) of %s, expires %s", "robot$rotator-bench-1", "42", "bench", "never")
		}
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/queued")
		close(release)
		r.Flush(context.Background())
	}
}

// An API server that stops answering (a fleet member frozen mid-run) costs one request timeout,
// not one per queued Event: the Events after it are dropped for UnreachablePause, and sent again
// after it. A refusal is an answer and stops nothing.
func TestEventsToAnUnansweringServerAreDroppedForAPause(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	client := fake.NewClientset()
	var requests int
	answer := errors.New("dial tcp 10.0.0.1:6443: i/o timeout")
	client.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		requests++
		return true, nil, answer
	})
	r := &Recorder{Client: client, Clock: clk, Instance: "test", Background: true}
	ctx := context.Background()
	for i := range 50 {
		r.Normal(ctx, Secret("ns", fmt.Sprintf("s%d", i)), ReasonRepaired, "repaired")
	}
	r.Flush(ctx)
	if requests != 1 {
		t.Fatalf("%d requests for 50 Events to a server that does not answer, want 1", requests)
	}
	clk.Step(UnreachablePause)
	answer = apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "x", errors.New("no"))
	for i := range 3 {
		r.Normal(ctx, Secret("ns", fmt.Sprintf("t%d", i)), ReasonRepaired, "repaired")
	}
	r.Flush(ctx)
	if requests != 4 {
		t.Fatalf("%d requests in all: after the pause each Event is sent again, a refusal pausing nothing (want 4)", requests)
	}
}
