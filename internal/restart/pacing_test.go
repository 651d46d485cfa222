package restart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
)

// waitAsync runs p.Wait in the background.
func waitAsync(ctx context.Context, p *Pacer) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Wait(ctx) }()
	return ch
}

func returned(ch <-chan error, within time.Duration) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	case <-time.After(within):
		return nil, false
	}
}

// blockedOn waits until something waits on fc.
func blockedOn(t *testing.T, fc *testingclock.FakeClock) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !fc.HasWaiters(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing waits on the clock")
		}
	}
}

func TestPacer(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := NewPacer(60, fc)
	if p.PerMinute() != 60 {
		t.Errorf("PerMinute = %d", p.PerMinute())
	}
	ctx := context.Background()
	if err, ok := returned(waitAsync(ctx, p), time.Second); !ok || err != nil {
		t.Fatalf("first restart waited (err %v): nothing is saved up but one turn", err)
	}
	second := waitAsync(ctx, p)
	blockedOn(t, fc)
	if _, ok := returned(second, 20*time.Millisecond); ok {
		t.Fatal("second restart within the same second at 60 a minute")
	}
	fc.Step(time.Second)
	if err, ok := returned(second, time.Second); !ok || err != nil {
		t.Fatalf("second restart not let through after 1s (err %v)", err)
	}

	// A wait cancelled gives its turn back: the next one a second later does not wait.
	cctx, cancel := context.WithCancel(ctx)
	third := waitAsync(cctx, p)
	blockedOn(t, fc)
	cancel()
	err, ok := returned(third, time.Second)
	if !ok || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "kubernetes.restartsPerMinute") {
		t.Fatalf("cancelled wait: %v, want context.Canceled naming kubernetes.restartsPerMinute", err)
	}
	fc.Step(time.Second)
	if err, ok := returned(waitAsync(ctx, p), 20*time.Millisecond); !ok || err != nil {
		t.Fatalf("the cancelled turn was not given back (err %v)", err)
	}

	var nilPacer *Pacer
	if err := nilPacer.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if NewPacer(0, nil).PerMinute() != DefaultRestartsPerMinute {
		t.Error("0 is not the default")
	}
}

// One Pacer shared by two Restarters (two credentials) holds the pace across both: at 60 a
// minute, six patches take five seconds however the workers are spread.
func TestRestartPacedAcrossRestarters(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := NewPacer(60, fc)
	var objs []runtime.Object
	var ws [2][]Workload
	for i := range 6 {
		name := fmt.Sprintf("web-%d", i)
		objs = append(objs, deployment(ns, name, podSpec("")))
		ws[i%2] = append(ws[i%2], Workload{Kind: KindDeployment, Namespace: ns, Name: name})
	}
	c := fake.NewClientset(objs...)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Restarter{Client: c, Clock: fc, Pacer: p, Concurrency: 3, TrustSnapshot: true}
			for _, x := range r.Restart(context.Background(), ws[i], annoKey, "v1", false) {
				if x.Err != nil {
					t.Error(x.Err)
				}
			}
		}()
	}
	patches := func() int { return countVerb(c, "patch") }
	for step := range 6 {
		for deadline := time.Now().Add(5 * time.Second); patches() < step+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after %ds: %d patches, want %d", step, patches(), step+1)
			}
		}
		time.Sleep(20 * time.Millisecond) // room for a patch that jumps the queue
		if n := patches(); n != step+1 {
			t.Fatalf("after %ds on the clock: %d patches, want %d at 60 a minute", step, n, step+1)
		}
		if step < 5 {
			blockedOn(t, fc)
			fc.Step(time.Second)
		}
	}
	wg.Wait()
}

// config cannot import this package; the two defaults must not drift apart.
func TestDefaultPaceMatchesConfig(t *testing.T) {
	if config.DefaultRestartsPerMinute != DefaultRestartsPerMinute {
		t.Fatalf("config.DefaultRestartsPerMinute %d, restart.DefaultRestartsPerMinute %d", config.DefaultRestartsPerMinute, DefaultRestartsPerMinute)
	}
}
