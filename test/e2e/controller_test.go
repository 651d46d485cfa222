//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// The namespace controller of `rotator run`, end to end (issue 17): with the service running as
// the rotator's user under the shipped RBAC, every drift is repaired by watch within
// reactionBound and the pods concerned go Available with no restart by hand; once it has
// settled, the service sends the API server nothing but watches and leader-election renewals.
//
// One service serves every step (a second one would only wait for the leader lease); each
// step works in namespaces of its own. Two credentials: ctl (prune false, the default) and
// ctlprune (prune: true), each choosing its namespaces by a label of its own.
const (
	ctlCred, ctlPruneCred     = "ctl", "ctlprune"
	ctlLabel, ctlPruneLabel   = "e2e-ctl", "e2e-ctlprune"
	ctlSecret, ctlPruneSecret = "harbor-pull", "harbor-pull-prune"
	// ctlRevokeAfter is ctl's grace period: short, so that step 4 sees the old credential revoked.
	ctlRevokeAfter = 4 * time.Second
	// reactionBound is how soon a reaction must be seen (generous: a reconcile takes
	// milliseconds, the machine running the sandbox may be busy).
	reactionBound = 15 * time.Second
	// availableBound is how soon the Deployment concerned must be Available after its repair:
	// the pull and the unstick follow-ups (3s, 10s) on top.
	availableBound = 30 * time.Second
	// lastUnstickFollowUp is the controller's last follow-up check of a repaired namespace's
	// pods (controller.Controller.UnstickAfter): it lists pods, so idleness starts after it.
	lastUnstickFollowUp = 90 * time.Second
)

var ctlOn = map[string]string{ctlLabel: "on"}

func TestControllerReactsToDriftAndIdlesWithoutLists(t *testing.T) {
	ctx := context.Background()
	// A target of each credential before the start: the first run of each issues its
	// credential (a run with no target namespace fails); their Secrets are the reference of what
	// every target must hold.
	seed := ctlTarget(t, "ctl-seed")
	pruneSeed := labelledNamespace(t, "ctlprune-seed", map[string]string{ctlPruneLabel: "on"})
	cfg := controllerConfig(t)
	begin := auditMark(t)
	// --reconcile 20s: liveness checks at the provider run during the idle window too, and must
	// send the API server nothing. --resync stays 1h: a resync within a step's bound would repair
	// what the step expects an event to repair.
	svc := startServiceWith(t, rotatorBin, nil, cfg, "--reconcile", "20s")
	eventually(t, 90*time.Second, "the first run of each credential", func() (bool, string) {
		a := svc.metric(`rotator_runs_total{credential="ctl",result="succeeded"}`)
		b := svc.metric(`rotator_runs_total{credential="ctlprune",result="succeeded"}`)
		return a >= 1 && b >= 1, fmt.Sprintf("succeeded runs: ctl %v, ctlprune %v (leader holder %q)", a, b, leaderHolder(t))
	})
	cur := currentOf(t, seed, ctlSecret)
	curPrune := currentOf(t, pruneSeed, ctlPruneSecret)

	t.Run("namespace created with the label, GitOps style", func(t *testing.T) {
		ns := fmt.Sprintf("ctl-gitops-%d", nsCounter.Add(1))
		mark := auditMark(t)
		start := time.Now()
		// Namespace, ServiceAccount and Deployment applied together, as a GitOps tool does.
		if _, err := rig.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: ctlOn}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// web through ServiceAccount app, applied with it; api through default, which the
		// controller-manager creates. A pod created before the rotator bound its ServiceAccount
		// has no pull secret: the controller's unstick must replace it (how often that happens
		// depends on the machine's load; the next step makes it happen for sure).
		for _, d := range []*appsv1.Deployment{saDeployment(ns, "web", "app"), saDeployment(ns, "api", "default")} {
			if err := rig.Apply(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		reaction(t, start, "secret written and ServiceAccounts app and default bound", func() (bool, string) {
			if ok, msg := holds(ns, ctlSecret, ctlCred, cur); !ok {
				return false, msg
			}
			return boundAll(ns, ctlSecret, "app", "default")
		})
		for _, d := range []string{"web", "api"} {
			available(t, start, ns, d)
			noRestartByHand(t, ns, d)
		}
		logUnstuck(t, mark, ns)
	})

	t.Run("namespace relabelled to match", func(t *testing.T) {
		ns := namespaces(t, "ctl-relabel", 1)[0]
		if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// web: its pod is created, and fails to pull, before the namespace is a target. slow: its
		// pod is created before too, but starts pulling only after the repair (a scheduling gate
		// the test removes then: a busy scheduler or node), so only a follow-up check finds it.
		slow := saDeployment(ns, "slow", "app")
		slow.Spec.Template.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "e2e.rotator.dev/hold"}}
		for _, d := range []*appsv1.Deployment{saDeployment(ns, "web", "app"), slow} {
			if err := rig.Apply(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		// No target yet: the pods have no pull secret; web's cannot pull.
		pullFailure(t, ns, "web")
		eventually(t, 30*time.Second, "a pod of slow, held", func() (bool, string) {
			return len(podNames(t, ns, "slow")) == 1, fmt.Sprintf("pods of slow: %v", podNames(t, ns, "slow"))
		})
		if _, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, ctlSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a namespace that is no target got the secret (get: %v)", err)
		}
		mark := auditMark(t)
		start := time.Now()
		setLabels(t, ns, ctlOn)
		reaction(t, start, "secret written and ServiceAccounts app and default bound", func() (bool, string) {
			if ok, msg := holds(ns, ctlSecret, ctlCred, cur); !ok {
				return false, msg
			}
			return boundAll(ns, ctlSecret, "app", "default")
		})
		// The repair's own check of the pods is done (it found slow's pod not failing): only now
		// may it start pulling.
		eventually(t, reactionBound, "the rotator's check of the pods after the repair", func() (bool, string) {
			for _, e := range requestsSince(t, mark, "rotator") {
				if e.Verb == "list" && e.ObjectRef.Resource == "pods" && e.ObjectRef.Namespace == ns {
					return true, ""
				}
			}
			return false, "no list of pods by the rotator yet"
		})
		stop := ungate(t, ns, "slow")
		defer stop()
		// The pods stuck without a pull secret are replaced by the controller's unstick: kubelet's
		// retries would never pull, a pod's imagePullSecrets are fixed at its creation.
		for _, d := range []string{"web", "slow"} {
			available(t, start, ns, d)
			noRestartByHand(t, ns, d)
		}
		deleted := unstuckPods(t, mark, ns)
		t.Logf("pods of %s stuck pulling that the rotator replaced: %v", ns, deleted)
		for _, app := range []string{"web", "slow"} {
			if !slices.ContainsFunc(deleted, func(p string) bool { return strings.HasPrefix(p, app+"-") }) {
				t.Errorf("no pod of %s, created before the namespace became a target, was replaced by the rotator", app)
			}
		}
	})

	t.Run("managed secret deleted or edited is restored", func(t *testing.T) {
		ns := ctlTarget(t, "ctl-drift")
		if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "", 1)); err != nil {
			t.Fatal(err)
		}
		reaction(t, time.Now(), "secret written and ServiceAccount default bound", func() (bool, string) {
			if ok, msg := holds(ns, ctlSecret, ctlCred, cur); !ok {
				return false, msg
			}
			return boundAll(ns, ctlSecret, "default")
		})
		waitAvailable(t, ns, "web")
		secrets := rig.Admin.CoreV1().Secrets(ns)
		get := func() *corev1.Secret {
			t.Helper()
			s, err := secrets.Get(ctx, ctlSecret, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		restored := func(what string, start time.Time) {
			t.Helper()
			reaction(t, start, what+": restored", func() (bool, string) { return holds(ns, ctlSecret, ctlCred, cur) })
		}

		start := time.Now()
		if err := secrets.Delete(ctx, ctlSecret, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		restored("deleted", start)

		s := get()
		bad, err := pullsecret.Build(rig.RegistryHost, "robot$someone-else", "not-the-password")
		if err != nil {
			t.Fatal(err)
		}
		s.Data = map[string][]byte{corev1.DockerConfigJsonKey: bad}
		start = time.Now()
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		restored("content edited", start)

		s = get()
		s.Labels = nil
		start = time.Now()
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		restored("labels stripped", start)

		// Replaced by an Opaque Secret of the same name, without the rotator's labels, as `kubectl
		// get -o yaml | edit | replace --force` leaves it (the annotations kept): a Secret's
		// type cannot be updated, so the controller must replace it.
		s = get()
		opaque := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: ctlSecret, Namespace: ns, Annotations: s.Annotations},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{"token": []byte("not-a-pull-secret")},
		}
		// The delete and the create are two requests: the controller may restore the Secret in
		// between, then the create finds it and the test tries again.
		for attempt := 1; ; attempt++ {
			if attempt > 20 {
				t.Fatalf("the Opaque Secret could not be put in place in %d attempts: the controller restored the deleted one first every time", attempt-1)
			}
			uid := get().UID
			if err := secrets.Delete(ctx, ctlSecret, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			start = time.Now()
			_, err := secrets.Create(ctx, opaque, metav1.CreateOptions{})
			if err == nil {
				t.Logf("Opaque Secret in place at attempt %d", attempt)
				break
			}
			if !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			eventually(t, reactionBound, "restored before the Opaque one was created", func() (bool, string) { return holds(ns, ctlSecret, ctlCred, cur) })
		}
		restored("replaced by an Opaque one", start)

		// The restored Secret pulls for real: a new pod of web pulls with it.
		old := podNames(t, ns, "web")
		start = time.Now()
		if err := rig.Admin.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=web"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, availableBound, "a new pod of web running", func() (bool, string) {
			pods, err := rig.Admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				return false, err.Error()
			}
			for _, p := range pods.Items {
				if !slices.Contains(old, p.Name) && p.Status.Phase == corev1.PodRunning {
					return deploymentAvailable(ns, "web")
				}
			}
			return false, fmt.Sprintf("%d pods, none new and running", len(pods.Items))
		})
		t.Logf("a new pod of web running with the restored secret after %s", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("configured ServiceAccount created later is bound", func(t *testing.T) {
		ns := labelledNamespace(t, "ctl-latesa", ctlOn)
		reaction(t, time.Now(), "secret written and ServiceAccount default bound", func() (bool, string) {
			if ok, msg := holds(ns, ctlSecret, ctlCred, cur); !ok {
				return false, msg
			}
			return boundAll(ns, ctlSecret, "default")
		})
		// Later: after the reconciles the namespace's creation and the rotator's own writes start.
		time.Sleep(2 * time.Second)
		start := time.Now()
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "keep-me"}}}
		if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		reaction(t, start, "ServiceAccount app bound", func() (bool, string) { return boundAll(ns, ctlSecret, "app") })
		if got := pullSecretNames(t, ns, "app"); !slices.Equal(got, []string{"keep-me", ctlSecret}) {
			t.Fatalf("ServiceAccount app has imagePullSecrets %v, want [keep-me %s]", got, ctlSecret)
		}
		// A pod of it pulls through the binding.
		start = time.Now()
		if err := rig.Apply(ctx, saDeployment(ns, "web", "app")); err != nil {
			t.Fatal(err)
		}
		available(t, start, ns, "web")
	})

	t.Run("namespace that stops matching, prune false", func(t *testing.T) {
		ns := ctlTarget(t, "ctl-leave")
		if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "", 1)); err != nil {
			t.Fatal(err)
		}
		reaction(t, time.Now(), "secret written and ServiceAccount default bound", func() (bool, string) {
			if ok, msg := holds(ns, ctlSecret, ctlCred, cur); !ok {
				return false, msg
			}
			return boundAll(ns, ctlSecret, "default")
		})
		waitAvailable(t, ns, "web")
		oldUser, oldPass := secretCredential(t, ns, ctlSecret)

		setLabels(t, ns, map[string]string{ctlLabel: "off"})
		// Every reconcile of it from now on (the relabel, the rotation's state changes) must
		// leave it alone: prune is off.
		time.Sleep(3 * time.Second)
		left := mustSecret(t, ns, ctlSecret)
		leftSA := pullSecretNames(t, ns, "default")
		if !slices.Contains(leftSA, ctlSecret) {
			t.Fatalf("prune false, yet ServiceAccount default of %s lost %s: %v", ns, ctlSecret, leftSA)
		}

		// A rotation: every target gets the new credential, the namespace that left is not touched.
		res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--credential", ctlCred, "--wait-lock", "-o", "json")
		rep := onlyReport(t, res)
		if res.Code != 0 || rep.Issued == nil || rep.Issued.ID == cur.id {
			t.Fatalf("rotate now issued no new credential (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
		}
		promoted := time.Now()
		for _, s := range rep.Secrets {
			if s.Namespace == ns {
				t.Errorf("the rotation wrote the secret of %s, no target any more: %+v", ns, s)
			}
		}
		next := currentOf(t, seed, ctlSecret)
		if next.id != rep.Issued.ID {
			t.Fatalf("the seed namespace holds credential %s, the rotation issued %s", next.id, rep.Issued.ID)
		}
		cur = next
		// Revocation is due after the grace period; a run then revokes the old credential,
		// which only the namespace that left still holds: it must not hold it back.
		time.Sleep(time.Until(promoted.Add(ctlRevokeAfter + time.Second)))
		res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--credential", ctlCred, "--if-due", "--wait-lock", "-o", "json")
		rep = onlyReport(t, res)
		if res.Code != 0 || len(rep.Held) != 0 {
			t.Fatalf("the run after the grace period failed or held a revocation back (exit %d): held %+v\n%s\n%s", res.Code, rep.Held, reportSummary(rep), res.Stderr)
		}
		if len(rep.Revoked) == 0 {
			t.Logf("the old credential was revoked by the service's own run at the revocation time")
		}
		if err := pull(rig.Images["proj-a"], oldUser, oldPass); err == nil {
			t.Fatalf("the old credential still pulls %s after the grace period of %s: its revocation was held back", rig.Images["proj-a"], revokeAfterText())
		}
		if n := len(robotsNamed("rotator-" + ctlCred + "-")); n != 1 {
			t.Errorf("want only the current robot of %s at Harbor, got %d", ctlCred, n)
		}
		// Not maintained: its Secret and binding are exactly as they were when it left.
		after := mustSecret(t, ns, ctlSecret)
		if after.ResourceVersion != left.ResourceVersion || after.UID != left.UID {
			t.Errorf("the secret of %s, no target any more, was written (resourceVersion %s -> %s, uid %s -> %s)",
				ns, left.ResourceVersion, after.ResourceVersion, left.UID, after.UID)
		}
		if got := pullSecretNames(t, ns, "default"); !slices.Equal(got, leftSA) {
			t.Errorf("ServiceAccount default of %s changed after it left the targets: %v -> %v", ns, leftSA, got)
		}
		// And every namespace still a target holds the new credential.
		for _, target := range []string{seed} {
			if ok, msg := holds(target, ctlSecret, ctlCred, cur); !ok {
				t.Errorf("target %s after the rotation: %s", target, msg)
			}
		}
	})

	t.Run("namespace that stops matching, prune true", func(t *testing.T) {
		ns := labelledNamespace(t, "ctlprune", map[string]string{ctlPruneLabel: "on"})
		reaction(t, time.Now(), "secret written and ServiceAccount default bound", func() (bool, string) {
			if ok, msg := holds(ns, ctlPruneSecret, ctlPruneCred, curPrune); !ok {
				return false, msg
			}
			return boundAll(ns, ctlPruneSecret, "default")
		})
		// Another pull secret of the ServiceAccount's is not the rotator's: it stays.
		patch := `[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"keep-me"}}]`
		if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Patch(ctx, "default", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		setLabels(t, ns, map[string]string{ctlPruneLabel: "off"})
		reaction(t, start, "secret deleted and ServiceAccount default unbound", func() (bool, string) {
			_, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, ctlPruneSecret, metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("secret still there (get: %v)", err)
			}
			got := pullSecretNames(t, ns, "default")
			return slices.Equal(got, []string{"keep-me"}), fmt.Sprintf("ServiceAccount default has imagePullSecrets %v", got)
		})
		// Still there: the namespace that is a target.
		if ok, msg := holds(pruneSeed, ctlPruneSecret, ctlPruneCred, curPrune); !ok {
			t.Errorf("target %s: %s", pruneSeed, msg)
		}
	})

	t.Run("idle: no list, only watches and the leader lease", func(t *testing.T) {
		// Settled: the last repair's last unstick follow-up (a list of pods) is behind.
		if last := lastRepair(t, svc.stderr.String()); !last.IsZero() {
			settle := time.Until(last.Add(lastUnstickFollowUp + 5*time.Second))
			t.Logf("last repair %s ago; waiting %s for its unstick follow-ups to end", time.Since(last).Round(time.Second), settle.Round(time.Second))
			time.Sleep(settle)
		}

		const idle = 60 * time.Second
		rig.Harbor.ResetRequests()
		mark := auditMark(t)
		time.Sleep(idle)
		evs := requestsSince(t, mark, "rotator")
		count := map[string]int{}
		var bad []string
		for _, e := range evs {
			what := e.Verb + " " + e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				what += "/" + e.ObjectRef.Subresource
			}
			count[what]++
			lease := e.ObjectRef.Resource == "leases" && e.ObjectRef.Name == "rotator-leader" && (e.Verb == "get" || e.Verb == "update")
			if e.Verb != "watch" && !lease {
				bad = append(bad, fmt.Sprintf("%s %s/%s (%d)", what, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ResponseStatus.Code))
			}
		}
		t.Logf("requests of the rotator's user in %s of idleness: %s", idle, formatCount(count))
		if len(bad) > 0 {
			t.Errorf("idle, the service sent %d requests other than watches and leader-election renewals: %v", len(bad), bad)
		}
		if count["list namespaces"]+count["list secrets"]+count["list serviceaccounts"]+count["list pods"] > 0 {
			t.Errorf("idle, the service listed: %s", formatCount(count))
		}
		if count["get leases"]+count["update leases"] == 0 {
			t.Errorf("no leader-election request in %s: is the audit log read right?", idle)
		}
		// What ran meanwhile, and cost the API server nothing: the liveness checks at Harbor (one
		// robot list each).
		checks := 0
		for _, r := range rig.Harbor.Requests() {
			if r.Method == "GET" && strings.HasSuffix(r.EscapedPath, "/robots") {
				checks++
			}
		}
		t.Logf("meanwhile: %d robot lists at Harbor (liveness checks)", checks)
		if checks == 0 {
			t.Errorf("no liveness check at Harbor in %s with --reconcile 20s", idle)
		}
	})

	t.Run("the shipped RBAC refused nothing", func(t *testing.T) {
		noForbiddenRequests(t, begin, "rotator")
	})
}

// controllerConfig is the config of the test: ctl (prune false) and ctlprune (prune true).
func controllerConfig(t *testing.T) string {
	t.Helper()
	if err := rig.CreateNamespace(context.Background(), stateNS, nil); err != nil {
		t.Fatal(err)
	}
	cred := func(name, secret, label, sas, extra string) string {
		return fmt.Sprintf(`- name: %s
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [proj-a]
  lifetime: 30d
  revokeAfter: %s
  verifyImages: [%s]
  targets:
    secretName: %s
    namespaceSelector: %s=on
    serviceAccounts: [%s]
%s  restart:
    timeout: 90s
`, name, rig.HarborURL, rig.HarborUsername, revokeAfterText(), rig.Images["proj-a"], secret, label, sas, extra)
	}
	return writeFile(t, "config-controller.yaml", "stateNamespace: "+stateNS+"\ncredentials:\n"+
		cred(ctlCred, ctlSecret, ctlLabel, "default, app", "")+
		cred(ctlPruneCred, ctlPruneSecret, ctlPruneLabel, "default", "    prune: true\n"))
}

func revokeAfterText() string { return ctlRevokeAfter.String() }

// labelledNamespace creates a fresh namespace with labels.
func labelledNamespace(t *testing.T, prefix string, labels map[string]string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1))
	if err := rig.CreateNamespace(context.Background(), ns, labels); err != nil {
		t.Fatal(err)
	}
	return ns
}

// ctlTarget creates a target namespace of ctl with both its ServiceAccounts: a run fails on a
// target namespace without a configured ServiceAccount.
func ctlTarget(t *testing.T, prefix string) string {
	t.Helper()
	ns := labelledNamespace(t, prefix, ctlOn)
	if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

func setLabels(t *testing.T, ns string, labels map[string]string) {
	t.Helper()
	var parts []string
	for k, v := range labels {
		parts = append(parts, fmt.Sprintf("%q:%q", k, v))
	}
	patch := `{"metadata":{"labels":{` + strings.Join(parts, ",") + `}}}`
	if _, err := rig.Admin.CoreV1().Namespaces().Patch(context.Background(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// saDeployment is a Deployment of one pod of proj-a that gets its pull secret only through
// ServiceAccount sa.
func saDeployment(ns, name, sa string) *appsv1.Deployment {
	d := sandbox.Deployment(ns, name, rig.Images["proj-a"], "", 1)
	d.Spec.Template.Spec.ServiceAccountName = sa
	return d
}

// credentialOf is what a managed Secret holds: the credential's id and the dockerconfigjson.
type credentialOf struct {
	id   string
	data []byte
}

// currentOf is what the managed Secret of ns, written by a run, holds.
func currentOf(t *testing.T, ns, name string) credentialOf {
	t.Helper()
	s := mustSecret(t, ns, name)
	c := credentialOf{id: s.Annotations[secretsync.AnnotationCredentialID], data: s.Data[corev1.DockerConfigJsonKey]}
	if c.id == "" || len(c.data) == 0 {
		t.Fatalf("secret %s/%s holds no credential of the rotator's (annotations %v)", ns, name, s.Annotations)
	}
	return c
}

func mustSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := rig.Admin.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// holds: Secret ns/name is the rotator's, for credential, of the right type, holding want
// exactly. The message never shows the secret's data.
func holds(ns, name, credential string, want credentialOf) (bool, string) {
	s, err := rig.Admin.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	switch {
	case err != nil:
		return false, err.Error()
	case s.Type != corev1.SecretTypeDockerConfigJson || len(s.Data) != 1:
		return false, fmt.Sprintf("secret %s/%s: type %s, %d keys", ns, name, s.Type, len(s.Data))
	case !secretsync.IsManaged(s, credential):
		return false, fmt.Sprintf("secret %s/%s: labels %v", ns, name, s.Labels)
	case s.Annotations[secretsync.AnnotationCredentialID] != want.id:
		return false, fmt.Sprintf("secret %s/%s: credential id %q, want %q", ns, name, s.Annotations[secretsync.AnnotationCredentialID], want.id)
	case !bytes.Equal(s.Data[corev1.DockerConfigJsonKey], want.data):
		return false, fmt.Sprintf("secret %s/%s: its data is not the current credential's", ns, name)
	}
	return true, ""
}

// boundAll: each ServiceAccount exists and names secret exactly once.
func boundAll(ns, secret string, sas ...string) (bool, string) {
	for _, name := range sas {
		sa, err := rig.Admin.CoreV1().ServiceAccounts(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, ref := range sa.ImagePullSecrets {
			if ref.Name == secret {
				n++
			}
		}
		if n != 1 {
			return false, fmt.Sprintf("ServiceAccount %s/%s names %s %d times: %v", ns, name, secret, n, sa.ImagePullSecrets)
		}
	}
	return true, ""
}

func pullSecretNames(t *testing.T, ns, sa string) []string {
	t.Helper()
	s, err := rig.Admin.CoreV1().ServiceAccounts(ns).Get(context.Background(), sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ref := range s.ImagePullSecrets {
		out = append(out, ref.Name)
	}
	return out
}

// reaction waits up to reactionBound after start for cond and logs how long it took.
func reaction(t *testing.T, start time.Time, what string, cond func() (bool, string)) {
	t.Helper()
	eventually(t, reactionBound-time.Since(start), what, cond)
	t.Logf("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
}

// available waits up to availableBound after start for the Deployment and logs how long it took.
func available(t *testing.T, start time.Time, ns, name string) {
	t.Helper()
	eventually(t, availableBound-time.Since(start), "deployment "+ns+"/"+name+" available", func() (bool, string) {
		return deploymentAvailable(ns, name)
	})
	t.Logf("deployment %s/%s available after %s", ns, name, time.Since(start).Round(100*time.Millisecond))
}

// noRestartByHand: the Deployment was never rolled out again (its template is the one
// applied): its pods went Available by the controller's replacing of stuck pods alone.
func noRestartByHand(t *testing.T, ns, name string) {
	t.Helper()
	d := getDeployment(t, ns, name)
	if d.Generation != 1 || len(d.Spec.Template.Annotations) != 0 {
		t.Errorf("deployment %s/%s was restarted: generation %d, template annotations %v", ns, name, d.Generation, d.Spec.Template.Annotations)
	}
}

// unstuckPods are the pods of ns the rotator deleted since mark (its unstick).
func unstuckPods(t *testing.T, mark int64, ns string) []string {
	t.Helper()
	var pods []string
	for _, e := range requestsSince(t, mark, "rotator") {
		if e.Verb == "delete" && e.ObjectRef.Resource == "pods" && e.ObjectRef.Namespace == ns && e.ResponseStatus.Code < 300 {
			pods = append(pods, e.ObjectRef.Name)
		}
	}
	return pods
}

func logUnstuck(t *testing.T, mark int64, ns string) {
	t.Helper()
	t.Logf("pods of %s stuck pulling that the rotator replaced: %v", ns, unstuckPods(t, mark, ns))
}

func podNames(t *testing.T, ns, app string) []string {
	t.Helper()
	pods, err := rig.Admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	return out
}

// ungate removes, until stopped, the scheduling gates of the pods of app in ns, as their
// ReplicaSet creates them: each pod starts pulling once it is seen.
func ungate(t *testing.T, ns, app string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pods, err := rig.Admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			if err == nil {
				for i := range pods.Items {
					p := &pods.Items[i]
					if len(p.Spec.SchedulingGates) > 0 && p.DeletionTimestamp == nil {
						p.Spec.SchedulingGates = nil
						_, _ = rig.Admin.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}) // a conflict: next round
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// lastRepair is the time of the service's last "namespace repaired" log line (zero: none).
func lastRepair(t *testing.T, stderr string) time.Time {
	t.Helper()
	var last time.Time
	n := 0
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `msg="namespace repaired"`) {
			continue
		}
		n++
		f, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		ts, err := time.Parse(time.RFC3339Nano, f)
		if err != nil {
			t.Fatalf("log line without a time: %q", line)
		}
		if ts.After(last) {
			last = ts
		}
	}
	t.Logf("%d namespace repairs logged by the service", n)
	return last
}

func formatCount(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
