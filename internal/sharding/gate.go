package sharding

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// Gate is a shard's Lease lock that lets this replica take the shard over only when the
// assignment gives it the shard (Mine), or when the shard has gone without a leader for
// Orphaned however the assignment reads (its owner by this view does not take it: a replica of
// an older version, or views that disagree for long). Renewing and releasing a shard it leads
// are never refused: the Lease alone keeps two replicas from leading one shard.
type Gate struct {
	resourcelock.Interface
	Shard    string
	Mine     func() bool
	Orphaned time.Duration
	Clock    clock.PassiveClock

	mu           sync.Mutex
	holder       string // the holder of the record last read
	renewed      time.Time
	refusedSince time.Time
}

// Get reads the record and remembers who holds it; a record that changed since a refusal
// starts the orphan wait afresh.
func (g *Gate) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := g.Interface.Get(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil || rec == nil {
		g.holder = ""
		return rec, raw, err
	}
	if rec.HolderIdentity != g.holder || !rec.RenewTime.Time.Equal(g.renewed) {
		g.refusedSince = time.Time{}
	}
	g.holder, g.renewed = rec.HolderIdentity, rec.RenewTime.Time
	return rec, raw, err
}

// Create takes a shard whose Lease does not exist yet, if this replica may.
func (g *Gate) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	if err := g.mayTake(); err != nil {
		return err
	}
	return g.Interface.Create(ctx, ler)
}

// Update renews or releases the shard this replica leads, or takes it over if it may.
func (g *Gate) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	g.mu.Lock()
	ours := g.holder == g.Identity()
	g.mu.Unlock()
	if !ours {
		if err := g.mayTake(); err != nil {
			return err
		}
	}
	return g.Interface.Update(ctx, ler)
}

func (g *Gate) mayTake() error {
	if g.Mine() {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Clock.Now()
	if g.refusedSince.IsZero() {
		g.refusedSince = now
	}
	if now.Sub(g.refusedSince) >= g.Orphaned {
		return nil // nobody took it for Orphaned: better this replica than none
	}
	return fmt.Errorf("shard %s belongs to another replica by the assignment; standing by (taken over if it stays without a leader for %s)", g.Shard, g.Orphaned)
}
