package sharding

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	clocktesting "k8s.io/utils/clock/testing"
)

// Every replica computes the same assignment from the same view, whatever its order; the
// shards are shared evenly (two replicas, three shards: two and one); a third replica joining
// takes shards only from the others' surplus, one each here.
func TestAssignSharesShardsEvenlyAndTheSameForEveryReplica(t *testing.T) {
	shards := []string{"local", "east", "west"}
	for round := range 50 { // many pairs of identities: balance is not luck
		a, b := fmt.Sprintf("host-a/%d", round), fmt.Sprintf("host-b/%d", 7*round+1)
		got := Assign([]string{a, b}, shards)
		if !maps.Equal(got, Assign([]string{b, a}, []string{"west", "local", "east"})) {
			t.Fatalf("the assignment depends on the order of the view")
		}
		load := map[string]int{}
		for _, sh := range shards {
			load[got[sh]]++
		}
		if load[a] < 1 || load[b] < 1 || load[a]+load[b] != 3 {
			t.Fatalf("two replicas, three shards: %v", got)
		}
		three := Assign([]string{a, b, "host-c/1"}, shards)
		load3 := map[string]int{}
		for _, sh := range shards {
			load3[three[sh]]++
		}
		if load3[a] != 1 || load3[b] != 1 || load3["host-c/1"] != 1 {
			t.Fatalf("three replicas, three shards: %v", three)
		}
	}
	if len(Assign(nil, shards)) != 0 {
		t.Error("no replica owns a shard")
	}
}

// A replica is alive while its Lease keeps changing, by the local clock: one that stops
// renewing drops out after Duration; this replica is always alive to itself.
func TestLiveReplicasAgeOutByTheLocalClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	m := &Members{Identity: "me", Duration: 15 * time.Second, Clock: clk}
	m.defaults()
	lease := func(name, holder, version string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: version}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
	}
	m.observe(lease("r-other", "other", "1"))
	if got := m.Live(); !slices.Equal(got, []string{"me", "other"}) {
		t.Fatalf("live %v", got)
	}
	clk.Step(10 * time.Second)
	m.observe(lease("r-other", "other", "2")) // renewed
	clk.Step(10 * time.Second)
	if got := m.Live(); len(got) != 2 {
		t.Fatalf("a replica renewed 10 s ago dropped out: %v", got)
	}
	m.observe(lease("r-other", "other", "2")) // seen again unchanged: no renewal
	clk.Step(6 * time.Second)
	if got := m.Live(); !slices.Equal(got, []string{"me"}) {
		t.Fatalf("a replica silent for 16 s is still alive: %v", got)
	}
	m.observe(lease("r-gone", "gone", "7"))
	m.forget(lease("r-gone", "gone", "7")) // a replica that left deletes its Lease
	if got := m.Live(); !slices.Equal(got, []string{"me"}) {
		t.Fatalf("a deleted replica Lease still counts: %v", got)
	}
}

// The gate lets a replica take a shard only when it is its by the assignment, or once the
// shard has had no leader for Orphaned; renewing a shard it leads is never refused.
func TestGateTakesOnlyAssignedOrOrphanedShards(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	inner := &recordLock{id: "me"}
	mine := false
	g := &Gate{Interface: inner, Shard: "east", Mine: func() bool { return mine }, Orphaned: 30 * time.Second, Clock: clk}
	ctx := context.Background()

	inner.rec = &resourcelock.LeaderElectionRecord{HolderIdentity: "", RenewTime: metav1.NewTime(time.Unix(900, 0))}
	_, _, _ = g.Get(ctx)
	if err := g.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err == nil {
		t.Fatal("took a free shard the assignment gives another replica")
	}
	clk.Step(31 * time.Second)
	_, _, _ = g.Get(ctx) // unchanged: still without a leader
	if err := g.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatalf("a shard without a leader for 31 s stays without one: %v", err)
	}

	inner.rec = &resourcelock.LeaderElectionRecord{HolderIdentity: "me", RenewTime: metav1.NewTime(time.Unix(1031, 0))}
	_, _, _ = g.Get(ctx)
	if err := g.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatalf("renewing a shard it leads was refused: %v", err)
	}

	inner.rec = nil
	inner.getErr = errNotFound
	_, _, _ = g.Get(ctx)
	clk.Step(time.Second)
	if err := g.Create(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err == nil {
		t.Fatal("created another replica's shard Lease")
	}
	mine = true
	if err := g.Create(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatalf("refused its own shard: %v", err)
	}
}

var errNotFound = errors.New("not found")

type recordLock struct {
	id      string
	rec     *resourcelock.LeaderElectionRecord
	getErr  error
	updates int
}

func (l *recordLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	return l.rec, nil, l.getErr
}
func (l *recordLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.rec, l.getErr = &r, nil
	return nil
}
func (l *recordLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.rec = &r
	l.updates++
	return nil
}
func (l *recordLock) RecordEvent(string) {}
func (l *recordLock) Identity() string   { return l.id }
func (l *recordLock) Describe() string   { return "test" }
