package runlock

import (
	"context"
	"fmt"
	"math"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// acquisition is one Acquire: its identity, the lease record it last saw and when, by the local
// clock. It is used by one goroutine at a time: the acquiring caller, then the renewals, then the
// release (which waits for the renewals to stop).
type acquisition struct {
	Lock
	identity string
	seen     record
	seenAt   time.Time // local time seen was first observed
	renewed  time.Time // local time of the last successful take or renewal, taken before the call
}

// record is what changes whenever the holder writes the Lease. Its times are the holder's and
// are only ever compared for equality, never with the local clock.
type record struct {
	holder    string
	renewTime int64 // RenewTime in UnixNano, by the holder's clock
	version   string
	duration  time.Duration // the holder's LeaseDurationSeconds (ours when it has none)
}

// maxTries of a take that lost a race to a concurrent writer: the next Get shows the winner.
const maxTries = 5

// tryAcquire creates the Lease, or takes it over when it is free, expired by local observation,
// held by a dead process of this host, or already ours.
func (a *acquisition) tryAcquire(ctx context.Context) error {
	leases := a.Client.CoordinationV1().Leases(a.Namespace)
	var err error
	for range maxTries {
		now := a.Clock.Now()
		var lease *coordinationv1.Lease
		lease, err = leases.Get(ctx, a.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace}}
			a.take(lease, now)
			lease, err = leases.Create(ctx, lease, fieldmanager.Create())
			if apierrors.IsAlreadyExists(err) {
				continue
			}
		} else if err == nil {
			a.observe(lease, now)
			if h := holderOf(lease); h != "" && h != a.identity && !a.expired(now) && !deadOnThisHost(h) {
				renew := time.Time{}
				if lease.Spec.RenewTime != nil {
					renew = lease.Spec.RenewTime.Time
				}
				return &HeldError{Holder: h, RenewAt: renew, Duration: a.seen.duration}
			}
			a.take(lease, now)
			// The resourceVersion of the Get makes two processes racing for a free lock conflict;
			// the loser sees the winner on its next try.
			lease, err = leases.Update(ctx, lease, fieldmanager.Update())
			if apierrors.IsConflict(err) {
				continue
			}
		}
		if err != nil {
			return a.describe(err)
		}
		a.observe(lease, now)
		a.renewed = now
		return nil
	}
	return a.describe(err)
}

// observe remembers lease's record, and the local time now if it differs from the one last seen.
func (a *acquisition) observe(lease *coordinationv1.Lease, now time.Time) {
	r := record{holder: holderOf(lease), version: lease.ResourceVersion, duration: a.Duration}
	if lease.Spec.RenewTime != nil {
		r.renewTime = lease.Spec.RenewTime.UnixNano()
	}
	if d := lease.Spec.LeaseDurationSeconds; d != nil && *d > 0 {
		r.duration = time.Duration(*d) * time.Second
	}
	if r != a.seen {
		a.seen, a.seenAt = r, now
	}
}

// expired: the record seen has not changed for its duration of local time. A holder whose clock
// runs ahead or behind ours is judged by its renewals, not by the times it writes.
func (a *acquisition) expired(now time.Time) bool {
	return !now.Before(a.seenAt.Add(a.seen.duration))
}

// take makes lease this acquisition's, renewed now.
func (a *acquisition) take(lease *coordinationv1.Lease, now time.Time) {
	t := metav1.NewMicroTime(now)
	secs := int32(min(a.Duration/time.Second, math.MaxInt32)) //nolint:gosec // clamped just before
	if holderOf(lease) != a.identity {
		lease.Spec.AcquireTime = &t
		if lease.Spec.RenewTime != nil { // taken from an earlier holder
			n := int32(1)
			if lease.Spec.LeaseTransitions != nil {
				n += *lease.Spec.LeaseTransitions
			}
			lease.Spec.LeaseTransitions = &n
		}
	}
	id := a.identity
	lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &id, &t, &secs
}

// renew writes a new RenewTime if the Lease is still ours. An error wrapping ErrLost means it is
// not; any other error may pass (the next renewal tells).
func (a *acquisition) renew(ctx context.Context, now time.Time) error {
	leases := a.Client.CoordinationV1().Leases(a.Namespace)
	lease, err := leases.Get(ctx, a.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: lease %s/%s was deleted", ErrLost, a.Namespace, a.Name)
	}
	if err != nil {
		return a.describe(err)
	}
	if h := holderOf(lease); h != a.identity {
		if h == "" {
			return fmt.Errorf("%w: lease %s/%s was freed by someone else", ErrLost, a.Namespace, a.Name)
		}
		return fmt.Errorf("%w: lease %s/%s is now held by %q", ErrLost, a.Namespace, a.Name, h)
	}
	a.take(lease, now)
	if lease, err = leases.Update(ctx, lease, fieldmanager.Update()); err != nil {
		return a.describe(err) // a conflict too: the next Get says whether it is still ours
	}
	a.observe(lease, now)
	return nil
}

// release frees the Lease if it is still this acquisition's. Errors are dropped: an unfreed lock
// is taken over after its duration, and the run it protected is over.
func (a *acquisition) release(ctx context.Context) {
	leases := a.Client.CoordinationV1().Leases(a.Namespace)
	_ = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := leases.Get(ctx, a.Name, metav1.GetOptions{})
		if err != nil || holderOf(lease) != a.identity {
			return err // lost or taken over: not ours to free
		}
		free := ""
		lease.Spec.HolderIdentity = &free
		_, err = leases.Update(ctx, lease, fieldmanager.Update())
		return err
	})
}

func holderOf(lease *coordinationv1.Lease) string {
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func (a *acquisition) describe(err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("run lock lease %s/%s: the rotator may not get/create/update leases there (deploy/ RBAC): %w", a.Namespace, a.Name, err)
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("run lock lease %s/%s: namespace %s must exist (it also holds the rotator's state): %w", a.Namespace, a.Name, a.Namespace, err)
	}
	return fmt.Errorf("run lock lease %s/%s: %w", a.Namespace, a.Name, err)
}
