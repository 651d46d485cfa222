//go:build integration

package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// waitPods waits until Deployment app of ns has created a pod, so that a test's premise (a pod
// created before the ServiceAccount binding) holds when the rotator looks.
func waitPods(t *testing.T, ns, app string) {
	t.Helper()
	eventually(t, 30*time.Second, "a pod of "+ns+"/"+app, func() (bool, string) {
		pods, err := rig.Admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err.Error()
		}
		return len(pods.Items) > 0, "no pod yet"
	})
}

// Issue 16, restart policy IfNeeded (the default): a workload created before its ServiceAccount
// was bound is restarted; a second rotation of bound workloads restarts nothing, and their pods
// keep pulling with the new credential after the old robot is revoked (deleted pods come back
// Running: the node simulator pulls with the pod's secrets, read by name at the pull).
func TestIfNeededRestartsOnlyWhatNeedsIt(t *testing.T) {
	ctx := context.Background()
	ns := namespaces(t, "ifneeded", 1)[0]
	img := rig.Images["proj-a"]
	if err := rig.Apply(ctx, sandbox.Deployment(ns, "early", img, "", 1)); err != nil { // via ServiceAccount default
		t.Fatal(err)
	}
	waitPods(t, ns, "early") // created before the binding: its pod lacks the secret
	cfg := rotatorConfig(t, cfgOpts{name: "ifneeded", namespaces: []string{ns}, projects: []string{"proj-a"}, revokeAfter: "0s"})

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("first rotation (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	first := res.Reports[0].Issued
	if got := workloadReasons(res.Reports[0].Workloads)[ns+"/early"]; got != "restarted:lacks-secret" {
		t.Fatalf("early: %s, want restarted because its pod lacks the secret: %+v", got, res.Reports[0].Workloads)
	}
	waitAvailable(t, ns, "early")
	if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", img, "harbor-pull", 2)); err != nil { // names the secret
		t.Fatal(err)
	}
	waitAvailable(t, ns, "web")
	before := map[string]string{}
	for _, d := range []string{"early", "web"} {
		before[d] = fmt.Sprint(getDeployment(t, ns, d).Spec.Template.Annotations)
	}
	firstUser, firstPass := secretCredential(t, ns, "harbor-pull")

	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("second rotation (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	rep := res.Reports[0]
	reasons := workloadReasons(rep.Workloads)
	for _, d := range []string{"early", "web"} {
		if got := reasons[ns+"/"+d]; got != "unchanged:bound" {
			t.Errorf("%s: %s, want unchanged:bound (%+v)", d, got, rep.Workloads)
		}
		if got := fmt.Sprint(getDeployment(t, ns, d).Spec.Template.Annotations); got != before[d] {
			t.Errorf("deployment %s restarted by the second rotation: template annotations %s, were %s", d, got, before[d])
		}
	}
	if len(rep.Revoked) != 1 || rep.Revoked[0].ID != first.ID {
		t.Fatalf("revoked %+v, want the first robot: bound workloads do not hold revocation back", rep.Revoked)
	}
	mustNotPull(t, img, firstUser, firstPass, "the first robot was revoked")
	for _, d := range []string{"early", "web"} {
		assertRepulls(t, ns, d)
	}
}

// Issue 16, policy Canary: the old robot is revoked only after the canary's rollout completed.
// A canary that cannot roll out (a paused Deployment) keeps the new credential pending and the
// old robot alive; once it can, the next run resumes, waits for it, promotes and revokes.
func TestCanaryRevokesOnlyAfterTheCanaryRolledOut(t *testing.T) {
	ctx := context.Background()
	ns := namespaces(t, "canary", 1)[0]
	img := rig.Images["proj-a"]
	ifNeeded := rotatorConfig(t, cfgOpts{name: "canary", namespaces: []string{ns}, projects: []string{"proj-a"}, revokeAfter: "0s",
		verifyImages: []string{img}})
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", ifNeeded, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("first rotation (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, d := range []struct {
		name     string
		replicas int32
	}{{"small", 1}, {"large", 2}} {
		if err := rig.Apply(ctx, sandbox.Deployment(ns, d.name, img, "harbor-pull", d.replicas)); err != nil {
			t.Fatal(err)
		}
	}
	waitAvailable(t, ns, "small")
	waitAvailable(t, ns, "large")
	b, err := os.ReadFile(ifNeeded)
	if err != nil {
		t.Fatal(err)
	}
	canary := writeFile(t, "canary.yaml", restartPolicy("Canary", string(b)))
	oldUser, oldPass := secretCredential(t, ns, "harbor-pull")

	pause := func(paused bool) {
		t.Helper()
		body := fmt.Sprintf(`{"spec":{"paused":%v}}`, paused)
		if _, err := rig.Admin.AppsV1().Deployments(ns).Patch(ctx, "small", types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pause(true)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", canary, "-o", "json")
	if res.Code == 0 {
		t.Fatalf("a canary that cannot roll out must fail the run:\n%s", res.Stdout)
	}
	rep := res.Reports[0]
	reasons := workloadReasons(rep.Workloads)
	if reasons[ns+"/small"] != "failed:canary" || reasons[ns+"/large"] != "unchanged:bound" {
		t.Fatalf("workloads %v: want the smallest as the canary, the other left alone", reasons)
	}
	if len(rep.Revoked) != 0 {
		t.Fatalf("revoked %+v before the canary rolled out", rep.Revoked)
	}
	if err := pull(img, oldUser, oldPass); err != nil {
		t.Fatalf("the old robot must stay alive while the canary has not rolled out: %v", err)
	}

	pause(false)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--if-due", "--config", canary, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("the resumed run (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	rep = res.Reports[0]
	if rep.Action != "resume" || len(rep.Revoked) != 1 || rep.Revoked[0].Name != oldUser {
		t.Fatalf("action %s, revoked %+v: want the pending credential resumed and the old robot revoked", rep.Action, rep.Revoked)
	}
	if got := workloadReasons(rep.Workloads)[ns+"/small"]; got != "unchanged:canary" && got != "restarted:canary" {
		t.Fatalf("small: %s", got)
	}
	// The canary rolled out before the revocation: the run waited for it.
	d := getDeployment(t, ns, "small")
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != 1 || d.Status.AvailableReplicas != 1 {
		t.Fatalf("canary small not rolled out when the old robot was revoked: %+v", d.Status)
	}
	mustNotPull(t, img, oldUser, oldPass, "the old robot was revoked")
	assertRepulls(t, ns, "large")
}
