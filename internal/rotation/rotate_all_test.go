package rotation

import (
	"context"
	"slices"
	"testing"

	"github.com/rotatorhq/rotator/internal/config"
)

// The report of a two-pass run shows what the first pass wrote, not the second's "unchanged".
func TestMergeKeepsTheFirstPassWrites(t *testing.T) {
	first := &Report{Decision: "new credential", Issued: &CredentialRef{ID: "7"}, deferred: true,
		Secrets:  []SecretResult{{Namespace: "a", Name: "pull", Action: "created"}, {Namespace: "b", Name: "pull", Action: "unchanged"}},
		Verified: []string{"img"}, Warnings: []string{"w"}, Duration: 2}
	second := &Report{Decision: "resume pending", Result: "succeeded",
		Secrets:   []SecretResult{{Namespace: "a", Name: "pull", Action: "unchanged"}, {Namespace: "b", Name: "pull", Action: "updated"}},
		Workloads: []WorkloadResult{{Kind: "Deployment", Namespace: "a", Name: "web", Action: "restarted"}},
		Verified:  []string{"img"}, Warnings: []string{"w", "x"}, Duration: 3}
	m := merge(first, second)
	var actions []string
	for _, s := range m.Secrets {
		actions = append(actions, s.Namespace+":"+s.Action)
	}
	if !slices.Equal(actions, []string{"a:created", "b:updated"}) {
		t.Errorf("secrets %v, want what each pass changed", actions)
	}
	if m.Result != "succeeded" || m.Decision != "new credential" || m.Issued == nil || m.Issued.ID != "7" || len(m.Workloads) != 1 {
		t.Errorf("merged %+v", m)
	}
	if !slices.Equal(m.Verified, []string{"img"}) || !slices.Equal(m.Warnings, []string{"w", "x"}) || m.Duration != 5 {
		t.Errorf("verified %v, warnings %v, duration %v", m.Verified, m.Warnings, m.Duration)
	}
}

// RotateAll takes the run lock once and holds it across every credential and both passes;
// a run with nothing due never takes it.
func TestRotateAllHoldsTheLockAcrossPasses(t *testing.T) {
	w := newWorld(t, "a")
	second := w.cfg.Credentials[0]
	second.Name = "h2"
	harbor := *w.cfg.Credentials[0].Harbor
	second.Harbor = &harbor
	second.Harbor.RobotNamePrefix = "rotator-h2-"
	second.Targets.SecretName = "pull2"
	w.cfg.Credentials = append(w.cfg.Credentials, second)
	r := w.runner()
	r.Providers["h2"], r.Checkers["h2"] = w.prov, w.reg
	takes, releases, heldNow := 0, 0, false
	r.Lock = func(ctx context.Context) (context.Context, func(), error) {
		if heldNow {
			t.Fatal("the lock was taken again while held")
		}
		takes++
		heldNow = true
		return ctx, func() { releases++; heldNow = false }, nil
	}
	creds := []*config.Credential{&w.cfg.Credentials[0], &w.cfg.Credentials[1]}
	for _, rep := range r.RotateAll(context.Background(), creds, Options{SkipRolloutWait: true}) {
		must(t, rep, Succeeded)
	}
	if takes != 1 || releases != 1 {
		t.Fatalf("lock taken %d and released %d times over two credentials and two passes, want once", takes, releases)
	}
	for _, rep := range r.RotateAll(context.Background(), creds, Options{IfDue: true, SkipRolloutWait: true}) {
		must(t, rep, NothingDue)
	}
	if takes != 1 {
		t.Fatalf("a run with nothing due took the lock")
	}
}
