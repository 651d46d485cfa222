// Package sharding shares the clusters of a fleet out among the replicas of `rotator run`. Each
// cluster is a shard with a leader Lease of its own (service.Election); this package decides
// which replica stands for which shard, so that adding replicas adds capacity:
//
//   - every replica announces itself on a Lease of its own (rotator-replica-<id>), renewed while
//     it runs and deleted when it stops, and watches the others' (an informer: an idle fleet
//     sends renewals, no list);
//   - a replica is alive while its Lease keeps changing, judged by the local clock as client-go's
//     leader election judges a leader (never comparing another machine's clock with ours);
//   - the shards are shared out evenly (no replica more than one shard ahead of another),
//     each to the live replica ranking highest for it by a hash of (replica, shard) among those
//     not yet full (rendezvous hashing with bounded loads): every replica computes the same
//     assignment from the same view, and a replica joining or leaving moves few shards.
//
// The assignment only says who should stand; the shard's Lease still decides who leads (Gate),
// so two replicas that briefly disagree never lead one shard together.
package sharding

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationinformers "k8s.io/client-go/informers/coordination/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// ReplicaLabel marks the replicas' Leases.
const ReplicaLabel = "rotator.dev/replica"

// Members is this replica's view of the live replicas. Start it, then ask Owner.
type Members struct {
	Client    kubernetes.Interface
	Namespace string
	Identity  string
	// Shards are every shard there is to share out (the fleet's cluster names).
	Shards []string
	// Duration a replica that stopped renewing still counts as alive; default 15s. Renewals
	// come every Duration/3.
	Duration time.Duration
	Clock    clock.WithTicker
	Logger   *slog.Logger

	mu   sync.Mutex
	seen map[string]sighting // by Lease name
}

// sighting is when a replica's Lease last changed, by the local clock.
type sighting struct {
	identity, version string
	at                time.Time
}

// LeaseName is the Lease of the replica identity.
func LeaseName(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return "rotator-replica-" + hex.EncodeToString(sum[:6])
}

func (m *Members) defaults() {
	if m.Duration == 0 {
		m.Duration = 15 * time.Second
	}
	if m.Clock == nil {
		m.Clock = clock.RealClock{}
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	m.seen = map[string]sighting{}
}

// Start announces this replica and watches the others until ctx ends; then its Lease is
// deleted, so the others take its shards over at once rather than after Duration.
func (m *Members) Start(ctx context.Context) {
	m.defaults()
	inf := coordinationinformers.NewFilteredLeaseInformer(m.Client, m.Namespace, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = ReplicaLabel
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.observe(obj) },
		UpdateFunc: func(_, obj any) { m.observe(obj) },
		DeleteFunc: func(obj any) { m.forget(obj) },
	})
	go inf.RunWithContext(ctx)
	go m.announce(ctx)
}

func (m *Members) observe(obj any) {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok || l.Spec.HolderIdentity == nil {
		return
	}
	m.mu.Lock()
	prev, had := m.seen[l.Name]
	if !had || prev.version != l.ResourceVersion {
		m.seen[l.Name] = sighting{identity: *l.Spec.HolderIdentity, version: l.ResourceVersion, at: m.Clock.Now()}
	}
	m.mu.Unlock()
}

func (m *Members) forget(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return
	}
	m.mu.Lock()
	delete(m.seen, l.Name)
	m.mu.Unlock()
}

// Live are the identities of the replicas alive by this view, this one always among them.
func (m *Members) Live() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Clock.Now()
	out := []string{m.Identity}
	for _, s := range m.seen {
		if s.identity != m.Identity && now.Sub(s.at) < m.Duration {
			out = append(out, s.identity)
		}
	}
	return out
}

// Owner is the replica that should lead shard, by this view.
func (m *Members) Owner(shard string) string { return Assign(m.Live(), m.Shards)[shard] }

// Mine says whether this replica should lead shard.
func (m *Members) Mine(shard string) bool { return m.Owner(shard) == m.Identity }

// Assign shares shards out among live: in the order of the shards' names, each goes to the
// replica ranking highest for it (score) among those holding fewer than their share,
// ceil(shards/replicas). The same live set and shards give the same assignment whatever
// their order.
func Assign(live, shards []string) map[string]string {
	out := map[string]string{}
	if len(live) == 0 {
		return out
	}
	live = slices.Sorted(slices.Values(live))
	shards = slices.Sorted(slices.Values(shards))
	share := (len(shards) + len(live) - 1) / len(live)
	load := map[string]int{}
	for _, sh := range shards {
		best := ""
		for _, id := range live {
			if load[id] >= share {
				continue
			}
			if best == "" || score(id, sh) > score(best, sh) {
				best = id
			}
		}
		out[sh] = best
		load[best]++
	}
	return out
}

func score(replica, shard string) uint64 {
	sum := sha256.Sum256([]byte(replica + "\x00" + shard))
	return binary.BigEndian.Uint64(sum[:8])
}

// announce keeps this replica's Lease fresh every Duration/3 until ctx ends, then deletes it.
func (m *Members) announce(ctx context.Context) {
	leases := m.Client.CoordinationV1().Leases(m.Namespace)
	name := LeaseName(m.Identity)
	seconds := int32(min(m.Duration/time.Second, math.MaxInt32)) //nolint:gosec // G115: bounded just above
	t := m.Clock.NewTicker(m.Duration / 3)
	defer t.Stop()
	var mine *coordinationv1.Lease
	for {
		now := metav1.NewMicroTime(m.Clock.Now())
		var err error
		if mine == nil {
			mine, err = leases.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				mine, err = leases.Create(ctx, &coordinationv1.Lease{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.Namespace, Labels: map[string]string{ReplicaLabel: "true"}},
					Spec:       coordinationv1.LeaseSpec{HolderIdentity: &m.Identity, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now},
				}, fieldmanager.Create())
			}
		} else {
			next := mine.DeepCopy()
			next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds, next.Spec.RenewTime = &m.Identity, &seconds, &now
			mine, err = leases.Update(ctx, next, fieldmanager.Update())
		}
		if err != nil {
			mine = nil // read it again next time (a conflict, or deleted by someone)
			if ctx.Err() == nil {
				m.Logger.Warn("replica lease: renewal failed; the other replicas may take this one's clusters over", "lease", name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			// Leave at once: the others need not wait Duration to take this replica's shards.
			del, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = leases.Delete(del, name, metav1.DeleteOptions{})
			cancel()
			return
		case <-t.C():
		}
	}
}
