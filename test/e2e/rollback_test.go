//go:build integration

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// A new credential that cannot pull a dependent workload's image (here: the config dropped a
// project the workload still uses) is taken back out before any workload restarts with it: the
// previous credential is put back, the new one is left for revocation, and the run fails saying so.
func TestRollbackWhenTheNewCredentialCannotPullDependentImages(t *testing.T) {
	ns := namespaces(t, "rollback", 1)[0]
	for _, o := range []any{
		sandbox.Deployment(ns, "a", rig.Images["proj-a"], "harbor-pull", 1),
		sandbox.Deployment(ns, "b", rig.Images["proj-b"], "harbor-pull", 1),
	} {
		if err := rig.Apply(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	both := rotatorConfig(t, cfgOpts{name: "rollback", namespaces: []string{ns}})
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", both); res.Code != 0 {
		t.Fatalf("initial rotation failed:\n%s", res.Stderr)
	}
	prevUser, _ := secretCredential(t, ns, "harbor-pull")
	fpBefore := getDeployment(t, ns, "b").Spec.Template.Annotations["rotator.dev/fp-rollback"]

	onlyA := rotatorConfig(t, cfgOpts{name: "rollback", namespaces: []string{ns}, projects: []string{"proj-a"}, verifyImages: []string{rig.Images["proj-a"]}})
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", onlyA, "-o", "json")
	if res.Code != 1 {
		t.Fatalf("want exit 1, got %d:\n%s", res.Code, res.Stderr)
	}
	rep := res.Reports[0]
	if rep.RolledBack == nil || !strings.Contains(strings.Join(rep.Errors, "\n"), "rolled back to the previous credential") {
		t.Fatalf("no rollback reported: %+v", rep)
	}
	if u, _ := secretCredential(t, ns, "harbor-pull"); u != prevUser {
		t.Fatalf("the secret holds %s, want the previous credential %s back", u, prevUser)
	}
	if got := getDeployment(t, ns, "b").Spec.Template.Annotations["rotator.dev/fp-rollback"]; got != fpBefore {
		t.Fatalf("deployment b was restarted with the unusable credential")
	}
	waitAvailable(t, ns, "a")
	waitAvailable(t, ns, "b")
	u, p := secretCredential(t, ns, "harbor-pull")
	if err := pull(rig.Images["proj-b"], u, p); err != nil {
		t.Fatalf("the restored credential does not pull proj-b: %v", err)
	}
}
