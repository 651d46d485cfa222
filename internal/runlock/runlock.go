// Package runlock makes sure two rotations of the same cluster never overlap: a scheduled run of
// `rotator run` and a manual `rotator rotate now` take the same Lease, and the second one either
// waits or fails at once naming the holder. A Lease (not a Secret) because its holder and renew
// time are what `kubectl get lease` shows people, and it expires by itself if a holder dies.
package runlock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// DefaultName of the run lock Lease in the rotator's namespace.
const DefaultName = "rotator-run-lock"

// HeldError says who holds the lock.
type HeldError struct {
	Holder  string
	RenewAt time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another rotation is running: lock held by %q (renewed %s); wait for it, or pass --wait-lock", e.Holder, e.RenewAt.UTC().Format(time.RFC3339))
}

// Lock is a Lease-based mutual exclusion between rotator processes.
type Lock struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string // default DefaultName
	Identity  string // who holds it, shown to others: "host/pid (rotate now)"
	// Duration after which a holder that stopped renewing loses the lock. Default 30s.
	Duration time.Duration
	Clock    clock.WithTicker
}

// Acquire takes the lock. With wait it retries until ctx ends; without, a held lock is a
// *HeldError. The returned release stops renewing and frees the lock.
func (l *Lock) Acquire(ctx context.Context, wait bool) (release func(), err error) {
	l.defaults()
	for {
		err := l.tryAcquire(ctx)
		if err == nil {
			break
		}
		var held *HeldError
		if !wait || !errors.As(err, &held) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the run lock: %w (%v)", ctx.Err(), err)
		case <-l.Clock.After(time.Second):
		}
	}
	renewCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := l.Clock.NewTicker(l.Duration / 3)
		defer t.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-t.C():
				_ = l.tryAcquire(renewCtx) // renewing our own lease; a failure shows at the next try
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		l.release(context.WithoutCancel(ctx))
	}, nil
}

func (l *Lock) defaults() {
	if l.Name == "" {
		l.Name = DefaultName
	}
	if l.Duration == 0 {
		l.Duration = 30 * time.Second
	}
	if l.Clock == nil {
		l.Clock = clock.RealClock{}
	}
}

// tryAcquire creates the Lease, or takes it over when it is free, expired or already ours.
func (l *Lock) tryAcquire(ctx context.Context) error {
	l.defaults()
	leases := l.Client.CoordinationV1().Leases(l.Namespace)
	now := metav1.NewMicroTime(l.Clock.Now())
	secs := int32(l.Duration / time.Second)
	lease, err := leases.Get(ctx, l.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: l.Name, Namespace: l.Namespace},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &l.Identity, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return l.tryAcquire(ctx)
		}
		return l.describe(err)
	}
	if err != nil {
		return l.describe(err)
	}
	holder := ""
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	if holder != "" && holder != l.Identity && !l.expired(lease) && !deadOnThisHost(holder) {
		renew := time.Time{}
		if lease.Spec.RenewTime != nil {
			renew = lease.Spec.RenewTime.Time
		}
		return &HeldError{Holder: holder, RenewAt: renew}
	}
	if holder != l.Identity {
		lease.Spec.AcquireTime = &now
	}
	lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &l.Identity, &now, &secs
	// The resourceVersion of the Get makes two processes racing for a free lock conflict; the
	// loser sees the winner on its next try.
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return l.tryAcquire(ctx)
		}
		return l.describe(err)
	}
	return nil
}

func (l *Lock) expired(lease *coordinationv1.Lease) bool {
	if lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil {
		return true
	}
	end := lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
	return l.Clock.Now().After(end)
}

func (l *Lock) release(ctx context.Context) {
	leases := l.Client.CoordinationV1().Leases(l.Namespace)
	lease, err := leases.Get(ctx, l.Name, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != l.Identity {
		return
	}
	empty := ""
	lease.Spec.HolderIdentity = &empty
	_, _ = leases.Update(ctx, lease, metav1.UpdateOptions{}) // an unreleased lock expires by itself
}

func (l *Lock) describe(err error) error {
	if err == nil {
		return nil
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("run lock lease %s/%s: the rotator may not get/create/update leases there (deploy/ RBAC): %w", l.Namespace, l.Name, err)
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("run lock lease %s/%s: namespace %s must exist (it also holds the rotator's state): %w", l.Namespace, l.Name, l.Namespace, err)
	}
	return fmt.Errorf("run lock lease %s/%s: %w", l.Namespace, l.Name, err)
}
