package main

import (
	"context"
	"slices"
	"testing"

	"github.com/rotatorhq/rotator/internal/config"
)

func TestPlanClustersGroupsCredentialsByCluster(t *testing.T) {
	cfg := &config.Config{
		Clusters: []config.Cluster{{Name: "east"}, {Name: "west"}},
		Credentials: []config.Credential{
			{Name: "a"}, // the rotator's own cluster only
			{Name: "b", Targets: config.Targets{Clusters: []string{"west", "local"}}},
			{Name: "c", Targets: config.Targets{Clusters: []string{"west"}}},
		},
	}
	creds := []*config.Credential{&cfg.Credentials[0], &cfg.Credentials[1], &cfg.Credentials[2]}
	got := map[string][]string{}
	var order []string
	for _, r := range planClusters(cfg, creds, "") {
		order = append(order, r.cluster)
		for _, c := range r.creds {
			got[r.cluster] = append(got[r.cluster], c.Name)
		}
	}
	if want := []string{"local", "west"}; !slices.Equal(order, want) {
		t.Errorf("clusters %v, want %v (east has no credential: no run)", order, want)
	}
	if !slices.Equal(got["local"], []string{"a", "b"}) || !slices.Equal(got["west"], []string{"b", "c"}) {
		t.Errorf("credentials by cluster: %v", got)
	}
	if runs := planClusters(cfg, creds, "west"); len(runs) != 1 || runs[0].cluster != "west" {
		t.Errorf("--cluster west: %+v", runs)
	}
	if runs := planClusters(cfg, creds, "east"); len(runs) != 0 {
		t.Errorf("--cluster east, which no credential targets: %+v", runs)
	}
}

// The runners of a fleet's clusters share one run lock: taken once, by the first that needs
// it, and released when the last is done.
func TestSharedLockIsTakenOnceAndReleasedByTheLast(t *testing.T) {
	acquired, released := 0, 0
	s := &sharedLock{acquire: func(ctx context.Context) (context.Context, func(), error) {
		acquired++
		return ctx, func() { released++ }, nil
	}}
	_, rel1, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, rel2, _ := s.Lock(context.Background())
	rel1()
	rel1() // a release called twice counts once
	if acquired != 1 || released != 0 {
		t.Fatalf("acquired %d released %d while one runner still holds it", acquired, released)
	}
	rel2()
	if released != 1 {
		t.Fatalf("released %d after the last runner, want 1", released)
	}
	_, rel3, _ := s.Lock(context.Background())
	rel3()
	if acquired != 2 || released != 2 {
		t.Fatalf("a later run takes the lock again: acquired %d released %d", acquired, released)
	}
}
