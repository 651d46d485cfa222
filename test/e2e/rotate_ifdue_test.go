//go:build integration

package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// setup2 creates two namespaces with a dependent Deployment each and rotates once.
func rotatedOnce(t *testing.T, name string, n int) (nss []string, cfg string) {
	t.Helper()
	nss = namespaces(t, name, n)
	for _, ns := range nss {
		if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
			t.Fatal(err)
		}
	}
	cfg = rotatorConfig(t, cfgOpts{name: name, namespaces: nss, projects: []string{"proj-a"}})
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg); res.Code != 0 {
		t.Fatalf("first rotation failed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	return nss, cfg
}

// Right after a rotation, --if-due changes nothing: no write at the API server, no change at
// Harbor. After a secret is deleted in one namespace it restores exactly that one.
func TestIfDueIsANoOpThenRepairsOnlyWhatIsMissing(t *testing.T) {
	nss, cfg := rotatedOnce(t, "ifdue", 3)

	mark := auditMark(t)
	rig.Harbor.ResetRequests()
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 || res.Reports[0].Result != "nothing-due" {
		t.Fatalf("want nothing-due, got exit %d %+v\n%s", res.Code, res.Reports, res.Stderr)
	}
	if w := writes(requestsSince(t, mark, "rotator")); len(w) != 0 {
		t.Fatalf("a run with nothing due wrote to the API server: %v", w)
	}
	if c := harborChanges(); len(c) != 0 {
		t.Fatalf("a run with nothing due changed Harbor: %v", c)
	}

	if err := rig.Admin.CoreV1().Secrets(nss[1]).Delete(context.Background(), "harbor-pull", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	mark = auditMark(t)
	rig.Harbor.ResetRequests()
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 || res.Reports[0].Issued != nil {
		t.Fatalf("repair must reuse the current credential: exit %d %+v\n%s", res.Code, res.Reports, res.Stderr)
	}
	var secretWrites []string
	for _, w := range writes(requestsSince(t, mark, "rotator")) {
		if strings.Contains(w, " secrets ") && !strings.Contains(w, stateNS+"/") {
			secretWrites = append(secretWrites, w)
		}
	}
	if len(secretWrites) != 1 || !strings.HasPrefix(secretWrites[0], "create secrets "+nss[1]+"/harbor-pull") {
		t.Fatalf("want exactly one secret created in %s, got %v", nss[1], secretWrites)
	}
	if c := harborChanges(); len(c) != 0 {
		t.Fatalf("a repair changed Harbor: %v", c)
	}
	u0, p0 := secretCredential(t, nss[0], "harbor-pull")
	u1, p1 := secretCredential(t, nss[1], "harbor-pull")
	if u0 != u1 || p0 != p1 {
		t.Fatalf("the restored secret holds another credential than its neighbours")
	}
}

// --dry-run prints the plan and writes nothing, at the API server or at Harbor.
func TestDryRunWritesNothing(t *testing.T) {
	nss := namespaces(t, "dry", 2)
	for _, ns := range nss {
		if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "", 1)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rotatorConfig(t, cfgOpts{name: "dry", namespaces: nss, projects: []string{"proj-a"}})
	mark := auditMark(t)
	rig.Harbor.ResetRequests()
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--dry-run", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("dry run failed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	rep := res.Reports[0]
	if rep.Result != "planned" || rep.Issued == nil || len(rep.Secrets) != 2 || len(rep.ServiceAccounts) != 2 || len(rep.Workloads) != 2 {
		t.Fatalf("the plan is incomplete: %+v", rep)
	}
	for _, s := range rep.Secrets {
		if s.Action != "create" {
			t.Fatalf("plan for %s: %s", s.Namespace, s.Action)
		}
	}
	if w := writes(requestsSince(t, mark, "rotator")); len(w) != 0 {
		t.Fatalf("dry run wrote to the API server: %v", w)
	}
	if c := harborChanges(); len(c) != 0 {
		t.Fatalf("dry run changed Harbor: %v", c)
	}
	text := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--dry-run")
	for _, want := range []string{"would issue", "create secret " + nss[0] + "/harbor-pull", "serviceaccount " + nss[1] + "/default: bind", "Deployment " + nss[0] + "/web"} {
		if !strings.Contains(text.Stdout, want) {
			t.Errorf("dry-run text lacks %q:\n%s", want, text.Stdout)
		}
	}
}

// A dependent workload whose image kubelet will not match with the written auths key (another
// host or port) is reported by the plan, before anything is written: here, in a dry run.
func TestPlanReportsImagesTheSecretWillNotMatch(t *testing.T) {
	ns := namespaces(t, "mismatch", 1)[0]
	other := strings.Replace(rig.Images["proj-a"], rig.RegistryHost, "localhost:1", 1)
	if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "elsewhere", other, "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	cfg := rotatorConfig(t, cfgOpts{name: "mismatch", namespaces: []string{ns}, projects: []string{"proj-a"}, verifyImages: []string{rig.Images["proj-a"]}})
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--dry-run", "-o", "json")
	warnings := strings.Join(res.Reports[0].Warnings, "\n")
	if !strings.Contains(warnings, "deployment "+ns+"/elsewhere uses "+other) || !strings.Contains(warnings, "will not match") {
		t.Fatalf("the plan did not report the mismatch: %q", warnings)
	}
}
