package runlock

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestSecondHolderFailsNamingTheFirstThenTakesOverAfterRelease(t *testing.T) {
	c := fake.NewClientset()
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	a := &Lock{Client: c, Namespace: "rotator-system", Identity: "host-a/1 (run)", Clock: clk}
	b := &Lock{Client: c, Namespace: "rotator-system", Identity: "host-b/2 (rotate now)", Clock: clk}
	releaseA, err := a.Acquire(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Acquire(context.Background(), false)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != "host-a/1 (run)" {
		t.Fatalf("want HeldError naming host-a, got %v", err)
	}
	releaseA()
	releaseB, err := b.Acquire(context.Background(), false)
	if err != nil {
		t.Fatalf("free lock not acquired: %v", err)
	}
	releaseB()
}

func TestExpiredLockIsTakenOver(t *testing.T) {
	c := fake.NewClientset()
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	a := &Lock{Client: c, Namespace: "ns", Identity: "dead", Clock: clk, Duration: 30 * time.Second}
	if err := a.tryAcquire(context.Background()); err != nil { // acquired, never renewed: the holder died
		t.Fatal(err)
	}
	b := &Lock{Client: c, Namespace: "ns", Identity: "alive", Clock: clk, Duration: 30 * time.Second}
	if err := b.tryAcquire(context.Background()); err == nil {
		t.Fatal("a fresh lock must not be taken over")
	}
	clk.Step(31 * time.Second)
	if err := b.tryAcquire(context.Background()); err != nil {
		t.Fatalf("an expired lock must be taken over: %v", err)
	}
}

// A holder on this host whose process is gone (a crashed `rotate now`) does not block the next run.
func TestDeadHolderOnThisHostIsTakenOver(t *testing.T) {
	host, _ := os.Hostname()
	c := fake.NewClientset()
	clk := clocktesting.NewFakeClock(time.Now())
	dead := &Lock{Client: c, Namespace: "ns", Identity: host + "/999999999 (rotate now)", Clock: clk}
	if err := dead.tryAcquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	alive := &Lock{Client: c, Namespace: "ns", Identity: host + "/" + strconv.Itoa(os.Getpid()) + " (rotate now)", Clock: clk}
	if err := alive.tryAcquire(context.Background()); err != nil {
		t.Fatalf("a dead holder on this host must not block: %v", err)
	}
	other := &Lock{Client: c, Namespace: "ns", Identity: "other-host/1 (run)", Clock: clk}
	if err := other.tryAcquire(context.Background()); err == nil {
		t.Fatal("a live holder must block")
	}
}
