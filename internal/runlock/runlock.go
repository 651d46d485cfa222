// Package runlock makes sure two rotations of the same cluster never overlap: a scheduled run of
// `rotator run` and a manual `rotator rotate now` take the same Lease, and the second one either
// waits or fails at once naming the holder. A Lease (not a Secret) because its holder and renew
// time are what `kubectl get lease` shows people, and it expires by itself if a holder dies.
//
// The lock is held by one acquisition, not by a process: every Acquire has an identity of its own,
// so two runs of one process exclude each other like runs of two processes. Expiry follows
// client-go's leader election: a lease's RenewTime, written by another machine's clock, is never
// compared with the local clock; a lease is expired only once this acquisition has seen it
// unchanged for its LeaseDuration of local time. A holder that cannot renew within RenewDeadline
// (well before anyone can take the lease over) loses the lock: its context is cancelled so the run
// stops before its next write.
package runlock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// DefaultName of the run lock Lease in the rotator's namespace.
const DefaultName = "rotator-run-lock"

// NameFor is the run lock of one cluster of a fleet: DefaultName for the rotator's own (""),
// "rotator-run-lock.<cluster>" for a member. Runs of different clusters never share a lock, so
// a member that cannot be reached (its run waiting on timeouts) holds up no other cluster's
// run, while a scheduled and a manual run of the same cluster still exclude each other.
func NameFor(cluster string) string {
	if cluster == "" {
		return DefaultName
	}
	return DefaultName + "." + cluster
}

// ErrLost is the cause (context.Cause) of a held context cancelled because the lock was lost:
// another holder took the lease, or it could not be renewed in time.
var ErrLost = errors.New("run lock lost")

// errReleased is the cause of a held context ended by its release.
var errReleased = errors.New("run lock released")

// HeldError says who holds the lock.
type HeldError struct {
	Holder string
	// RenewAt is the holder's last renewal, by the holder's clock (shown, never compared).
	RenewAt time.Time
	// Duration after which a holder that stopped renewing is taken over by a waiting run.
	Duration time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another rotation is running: lock held by %q (renewed %s by its clock); wait for it, or pass --wait-lock (a holder that stopped renewing is then taken over after %s)",
		e.Holder, e.RenewAt.UTC().Format(time.RFC3339), e.Duration)
}

// Lock is a Lease-based mutual exclusion between rotations. One Lock may be used by any number of
// concurrent Acquire calls; each is an acquisition of its own.
type Lock struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string // default DefaultName
	// Purpose ends each acquisition's identity, for people reading the Lease:
	// "host/pid/1a2b3c4d (rotate now)".
	Purpose string
	// Duration a holder that stopped renewing keeps the lock (LeaseDurationSeconds). Default 30s.
	Duration time.Duration
	// RenewDeadline: a holder that could not renew for this long gives the lock up (its context
	// is cancelled). Shorter than Duration, so that the run has stopped before another can have
	// seen the lease unchanged for Duration. Default 2/3 of Duration.
	RenewDeadline time.Duration
	// RetryPeriod between renewals, and between tries of a waiting Acquire. Default Duration/15.
	RetryPeriod time.Duration
	Clock       clock.Clock
}

// Acquire takes the lock. With wait it retries until ctx ends; without, a held lock is a
// *HeldError, unless its holder is a dead process of this host.
//
// held is derived from ctx and is cancelled when the lock is lost (cause: ErrLost) or released:
// everything the run writes must use it. The lock is renewed until release, even after ctx ends,
// so that a run winding down keeps its exclusion; release must always be called. It stops the
// renewals, cancels held, and frees the Lease if it is still this acquisition's.
func (l *Lock) Acquire(ctx context.Context, wait bool) (held context.Context, release func(), err error) {
	cfg := l.withDefaults()
	a := &acquisition{Lock: cfg, identity: newIdentity(cfg.Purpose)}
	for {
		err := a.tryAcquire(ctx)
		if err == nil {
			break
		}
		var heldErr *HeldError
		if !wait || !errors.As(err, &heldErr) {
			return nil, nil, err
		}
		t := cfg.Clock.NewTimer(cfg.RetryPeriod)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("waiting for the run lock: %w (%w)", ctx.Err(), err)
		case <-t.C():
		}
	}
	held, lose := context.WithCancelCause(ctx)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		a.keep(context.WithoutCancel(ctx), lose, stop)
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			<-stopped
			lose(errReleased) // before the Lease is freed: nothing of this run writes after another took it
			// The run may end because ctx did; freeing the Lease must still be tried. An unfreed
			// lock is taken over after Duration anyway, so waiting longer than that is pointless.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Duration)
			defer cancel()
			a.release(rctx)
		})
	}
	return held, release, nil
}

func (l *Lock) withDefaults() Lock {
	c := *l
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.RenewDeadline <= 0 {
		c.RenewDeadline = c.Duration * 2 / 3
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = c.Duration / 15
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return c
}
