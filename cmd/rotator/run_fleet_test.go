package main

import (
	"testing"

	"github.com/rotatorhq/rotator/internal/config"
)

// rotator run serves the rotator's own cluster always (its Lease is the one the "no leader"
// alert watches), then each member a credential targets, each with only its own credentials.
func TestShardsOfAFleet(t *testing.T) {
	cfg := &config.Config{
		Clusters: []config.Cluster{{Name: "east"}, {Name: "west"}, {Name: "idle"}},
		Credentials: []config.Credential{
			{Name: "a", Targets: config.Targets{Clusters: []string{"east"}}},
			{Name: "b", Targets: config.Targets{Clusters: []string{"west", "east"}}},
		},
	}
	shards := shardsOf(cfg)
	type want struct {
		cluster, lease string
		creds          []string
	}
	wants := []want{
		{"", "rotator-leader", nil},
		{"east", "rotator-leader.east", []string{"a", "b"}},
		{"west", "rotator-leader.west", []string{"b"}},
	}
	if len(shards) != len(wants) {
		t.Fatalf("%d shards, want %d (idle has no credential: no shard)", len(shards), len(wants))
	}
	for i, w := range wants {
		sh := shards[i]
		var names []string
		for _, c := range sh.cfg.Credentials {
			names = append(names, c.Name)
		}
		if sh.cluster != w.cluster || shardLease(sh.cluster) != w.lease || len(names) != len(w.creds) {
			t.Errorf("shard %d: cluster %q lease %q credentials %v, want %q %q %v", i, sh.cluster, shardLease(sh.cluster), names, w.cluster, w.lease, w.creds)
			continue
		}
		for j := range names {
			if names[j] != w.creds[j] {
				t.Errorf("shard %s: credentials %v, want %v", sh.name(), names, w.creds)
			}
		}
	}
	if len(cfg.Credentials) != 2 {
		t.Error("splitting the config changed it")
	}
	one := &config.Config{Credentials: []config.Credential{{Name: "a"}}}
	if s := shardsOf(one); len(s) != 1 || s[0].cluster != "" || len(s[0].cfg.Credentials) != 1 {
		t.Errorf("one cluster: %+v, want the one shard of the rotator's own cluster", s)
	}
}
