package service

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/rotatorhq/rotator/internal/metrics"
)

// LeaderLease is the Lease replicas of `rotator run` elect their leader on.
const LeaderLease = "rotator-leader"

// Election configures leader election; only the leader runs the schedule.
type Election struct {
	Client    kubernetes.Interface
	Namespace string
	Identity  string
	// LeaseDuration is how long a dead leader keeps the lease: the hand-over time.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Metrics                                   *metrics.Metrics
	// Lease is the Lease elected on; default LeaderLease. A fleet elects a leader per cluster,
	// each on a Lease of its own (a shard).
	Lease string
	// Leading, when set, is told whenever this replica starts or stops leading (besides Metrics).
	Leading func(leading bool)
	// Gate, when set, wraps the Lease lock: a fleet's replicas take only the shards assigned
	// to them (sharding.Gate).
	Gate func(resourcelock.Interface) resourcelock.Interface
}

// Run calls lead with a context that ends when leadership is lost, and returns when ctx ends.
// Losing the lease mid-rotation cancels lead's context; the rotation then stops at a safe point
// and the new leader resumes it from the state.
func (e Election) Run(ctx context.Context, lead func(ctx context.Context)) error {
	if e.LeaseDuration == 0 {
		e.LeaseDuration, e.RenewDeadline, e.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	if e.Lease == "" {
		e.Lease = LeaderLease
	}
	leading := func(on bool) {
		e.Metrics.Leader(on)
		if e.Leading != nil {
			e.Leading(on)
		}
	}
	var lock resourcelock.Interface = &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: e.Lease, Namespace: e.Namespace},
		Client:     e.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}
	if e.Gate != nil {
		lock = e.Gate(lock)
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, Name: e.Lease,
			LeaseDuration: e.LeaseDuration, RenewDeadline: e.RenewDeadline, RetryPeriod: e.RetryPeriod,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					leading(true)
					lead(ctx)
				},
				OnStoppedLeading: func() { leading(false) },
			},
		})
		if err != nil {
			return err
		}
		le.Run(ctx) // returns when leadership is lost or ctx ends; then stand for election again
	}
	return nil
}
