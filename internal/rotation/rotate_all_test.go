package rotation

import (
	"slices"
	"testing"
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
