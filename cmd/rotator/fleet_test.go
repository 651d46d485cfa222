package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
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

// Each cluster of a fleet has its own run lock: a run of one member never waits for another's
// (one unreachable member held up every cluster under the one lock), while two runs of one
// cluster still exclude each other.
func TestRunLocksArePerCluster(t *testing.T) {
	client := fake.NewClientset()
	a := &app{kube: client}
	cfg := &config.Config{StateNamespace: "rotator-system"}
	locks := runLocks(a, cfg, "test", false)
	ctx := context.Background()
	_, releaseLocal, err := locks(config.LocalCluster)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseLocal()
	_, releaseEast, err := locks("east")(ctx)
	if err != nil {
		t.Fatalf("east's run waits for the rotator's own cluster's: %v", err)
	}
	defer releaseEast()
	if _, _, err := locks("east")(ctx); err == nil {
		t.Fatal("a second run of east took the lock its first run holds")
	}
	leases, err := client.CoordinationV1().Leases("rotator-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range leases.Items {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	if want := []string{"rotator-run-lock", "rotator-run-lock.east"}; !slices.Equal(names, want) {
		t.Errorf("leases %v, want %v", names, want)
	}
}

// rotate now's error names what is not done, each member by its cluster: with -o json it is the
// one line on stderr.
func TestNotDoneNamesCredentialsAndClusters(t *testing.T) {
	reports := []*rotation.Report{
		{Credential: "h", Result: rotation.Succeeded},
		{Credential: "h", Cluster: "east", Result: rotation.Failed, Errors: []string{"unreachable"}},
		{Credential: "g", Result: rotation.Failed, Errors: []string{"refused"}},
	}
	if got, want := notDone(reports, "json").Error(), "some targets are not done (h in cluster east, g); see the report's errors"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := notDone(reports, "text").Error(); !strings.HasSuffix(got, "; see above") {
		t.Errorf("text: %q", got)
	}
}
