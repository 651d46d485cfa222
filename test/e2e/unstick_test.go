//go:build integration

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

// A Deployment's pod stuck in ImagePullBackOff with a wrong password is replaced as soon as the
// secret is repaired and Unstick runs: the new pod pulls with the repaired secret and the
// Deployment becomes Available. A bare pod stuck the same way, and a pod stuck on another
// registry, are left alone.
func TestUnstickReplacesPodStuckPullingAfterRepair(t *testing.T) {
	ctx := context.Background()
	ns := namespaces(t, "unstick", 1)[0]
	r := robot(t, "unstick-", "proj-a")
	pullSecret(t, ns, "pull", r.Username, r.Password+"x") // broken: 401 at every pull
	img := rig.Images["proj-a"]
	bare := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: ns, Labels: map[string]string{"app": "bare"}},
		Spec:       sandbox.PodTemplate("bare", img, "pull").Spec,
	}
	if _, err := rig.Admin.CoreV1().Pods(ns).Create(ctx, bare, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := []any{sandbox.Deployment(ns, "web", img, "pull", 1)}
	other := ""
	for _, gi := range rig.GitLabImages { // any image of the second registry: no credential for it here
		other = gi
		break
	}
	if other != "" {
		objs = append(objs, sandbox.Deployment(ns, "elsewhere", other, "", 1))
	}
	for _, o := range objs {
		if err := rig.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	pullFailure(t, ns, "web")
	pullFailure(t, ns, "bare")
	if other != "" {
		pullFailure(t, ns, "elsewhere")
	}
	before := podUIDs(t, ns)

	// Repair the secret in place, as a rotation's write does.
	data, err := pullsecret.Build(rig.RegistryHost, r.Username, r.Password)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "pull", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{corev1.DockerConfigJsonKey: data}
	if _, err := rig.Admin.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	res, err := (&restart.Restarter{Client: rig.Admin}).Unstick(ctx, ns, rig.RegistryHost, 10)
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, u := range res {
		t.Log(u)
		if u.Err != nil {
			t.Errorf("%s", u)
		}
		if u.Deleted {
			deleted[u.Pod] = true
		}
	}
	webPods := 0
	for name := range before {
		switch {
		case strings.HasPrefix(name, "web-"):
			webPods++
			if !deleted[name] {
				t.Errorf("stuck pod %s of Deployment web not deleted", name)
			}
		case deleted[name]:
			t.Errorf("pod %s deleted: only pods of a controller stuck on %s may be", name, rig.RegistryHost)
		}
	}
	if webPods != 1 {
		t.Fatalf("%d pods of web before the repair, want 1: %v", webPods, before)
	}
	waitAvailable(t, ns, "web")
	t.Logf("web Available %s after Unstick", time.Since(start).Round(100*time.Millisecond))
	after := podUIDs(t, ns)
	if after["bare"] != before["bare"] {
		t.Errorf("bare pod replaced (uid %s -> %s): nothing recreates a bare pod, it must be left", before["bare"], after["bare"])
	}
	for name, uid := range before {
		if strings.HasPrefix(name, "web-") && after[name] == uid {
			t.Errorf("stuck pod %s still there", name)
		}
	}
}

// podUIDs maps the pods of ns to their UIDs.
func podUIDs(t *testing.T, ns string) map[string]types.UID {
	t.Helper()
	pods, err := rig.Admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p.UID
		}
	}
	if len(out) == 0 {
		t.Fatalf("no pods in %s", ns)
	}
	return out
}

// The rotator's own repair unsticks: a managed Secret tampered with (wrong password) leaves a
// Deployment's new pod in ImagePullBackOff; `rotate now --if-due` repairs the Secret, deletes the
// stuck pod (reported under unstuck) and the Deployment becomes Available at once.
func TestRepairUnsticksStuckPods(t *testing.T) {
	ctx := context.Background()
	cred := "repairunstick"
	nss := namespaces(t, cred, 1)
	ns := nss[0]
	cfg := wedgeConfig(t, cred, stateNS, nss, "1h")
	if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json"); res.Code != 0 {
		t.Fatalf("first rotation (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	waitAvailable(t, ns, "web")
	s, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "harbor-pull", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, p := secretCredential(t, ns, "harbor-pull")
	bad, err := pullsecret.Build(rig.RegistryHost, u, p+"x")
	if err != nil {
		t.Fatal(err)
	}
	s.Data[corev1.DockerConfigJsonKey] = bad
	if _, err := rig.Admin.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Its pod is recreated (a node drained, say) and cannot pull with the tampered Secret.
	if err := rig.Admin.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=web"}); err != nil {
		t.Fatal(err)
	}
	pullFailure(t, ns, "web")

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	rep := onlyReport(t, res)
	if res.Code != 0 {
		t.Fatalf("repair failed (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
	}
	deleted := 0
	for _, up := range rep.Unstuck {
		if up.Namespace == ns && up.Deleted && strings.HasPrefix(up.Pod, "web-") {
			deleted++
		}
	}
	if deleted == 0 {
		t.Fatalf("the repair deleted no stuck pod of web: unstuck %+v\n%s", rep.Unstuck, reportSummary(rep))
	}
	start := time.Now()
	waitAvailable(t, ns, "web")
	t.Logf("web available %v after the repair", time.Since(start).Round(100*time.Millisecond))
}
