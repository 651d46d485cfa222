//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"

	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

// Issue 19 point 8, GitOps-safe writes. A GitOps tool owning a ServiceAccount re-applies its
// manifest each time the rotator adds its entry to imagePullSecrets (an atomic list: server-side
// apply cannot split it). The rotator gives up after bindguard's three removals, says so with a
// Warning Event naming the tool and the fix, then leaves that ServiceAccount alone while still
// serving every other namespace. An owner whose manifest lists the entry is never fought.
func TestGitOpsOwnerOfTheServiceAccountIsNotFought(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "gitops", 3)
	fight, agree, other := nss[0], nss[1], nss[2]
	for _, ns := range nss {
		defaultServiceAccount(t, ns)
	}
	cfg := rotatorConfig(t, cfgOpts{name: "gitops", namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{rig.Images["proj-a"]}})
	begin := auditMark(t)
	ownerCtx, stopOwners := context.WithCancel(ctx)
	defer stopOwners()
	fighter := startOwner(t, ownerCtx, fight, []corev1.LocalObjectReference{{Name: "own"}})
	agreeing := startOwner(t, ownerCtx, agree, []corev1.LocalObjectReference{{Name: "own"}, {Name: "harbor-pull"}})

	svc := startService(t, cfg)
	eventually(t, 90*time.Second, "the first run of gitops", func() (bool, string) {
		v := svc.metric(`rotator_runs_total{credential="gitops",result="succeeded"}`)
		return v >= 1, fmt.Sprintf("succeeded runs %v", v)
	})
	var warning string
	eventually(t, 60*time.Second, "a BindingConflict Warning on the fought ServiceAccount", func() (bool, string) {
		warning = conflictEvent(t, fight)
		return warning != "", fmt.Sprintf("owner re-applies so far: %d; rotator's ServiceAccount writes: %d", fighter.reapplies.Load(), len(saWrites(t, begin, fight)))
	})
	for _, want := range []string{"serviceaccount " + fight + "/default", "argocd-controller", `"harbor-pull"`, "ignoreDifferences", "managedFieldsManagers", "docs/gitops.md"} {
		if !strings.Contains(warning, want) {
			t.Errorf("the Warning does not say %q: %s", want, warning)
		}
	}
	if n := len(saWrites(t, begin, fight)); n > 3 {
		t.Errorf("the rotator wrote the fought ServiceAccount %d times before giving up, want at most 3: %v", n, saWrites(t, begin, fight))
	}

	// Given up: 30 s more of the owner watching, and of the rest of the cluster drifting.
	quiet := auditMark(t)
	reapplied := fighter.reapplies.Load()
	start := time.Now()
	if err := rig.Admin.CoreV1().Secrets(other).Delete(ctx, "harbor-pull", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	setPullSecrets(t, other, nil, "someone")
	reaction(t, start, "the other namespace repaired: Secret restored and default bound again", func() (bool, string) {
		if _, err := rig.Admin.CoreV1().Secrets(other).Get(ctx, "harbor-pull", metav1.GetOptions{}); err != nil {
			return false, err.Error()
		}
		return boundAll(other, "harbor-pull", "default")
	})
	// An edit of the fought ServiceAccount that keeps the entry out is no reason to fight again.
	setPullSecrets(t, fight, []corev1.LocalObjectReference{{Name: "own"}, {Name: "own-2"}}, "argocd-controller")
	time.Sleep(time.Until(start.Add(30 * time.Second)))
	if w := saWrites(t, quiet, fight); len(w) > 0 {
		t.Errorf("the rotator still wrote the ServiceAccount it gave up on: %v", w)
	}
	if n := fighter.reapplies.Load() - reapplied; n > 0 {
		t.Errorf("the owner had to remove the entry %d more times after the give-up", n)
	}
	if v := svc.metric(`rotator_binding_conflicts_total{credential="gitops"}`); v != 1 {
		t.Errorf("rotator_binding_conflicts_total: %v, want 1", v)
	}
	if v := svc.metric(`rotator_bindings_given_up`); v != 1 {
		t.Errorf("rotator_bindings_given_up: %v, want 1", v)
	}
	if !strings.Contains(svc.stderr.String(), "serviceaccount binding given up") {
		t.Errorf("the rotator's log does not report the give-up")
	}
	// Pods naming the Secret themselves keep working meanwhile: the Secret is the rotator's.
	if _, err := rig.Admin.CoreV1().Secrets(fight).Get(ctx, "harbor-pull", metav1.GetOptions{}); err != nil {
		t.Errorf("the Secret of the fought namespace: %v", err)
	}

	// The agreeing owner: no write of its ServiceAccount by the rotator, no Event, no re-apply.
	if w := saWrites(t, begin, agree); len(w) > 0 {
		t.Errorf("the rotator wrote a ServiceAccount whose owner lists the entry: %v", w)
	}
	if e := conflictEvent(t, agree); e != "" {
		t.Errorf("a conflict reported where there is none: %s", e)
	}
	if n := agreeing.reapplies.Load(); n > 0 {
		t.Errorf("the agreeing owner had to re-apply %d times", n)
	}

	// Every create, update and patch of the rotator named its field manager (issue 19 point 8):
	// Secrets, ServiceAccounts, the state, the leases, the Events, across a run and repairs.
	noWriteWithoutFieldManager(t, begin)
}

// Every create, update and patch the rotator sends names the field manager "rotator": a
// rotation with restarts and a revocation (rotate now, twice), then the controller's repair.
func TestEveryWriteNamesTheFieldManager(t *testing.T) {
	ctx := context.Background()
	ns := namespaces(t, "fieldmgr", 1)[0]
	defaultServiceAccount(t, ns)
	if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	cfg := rotatorConfig(t, cfgOpts{name: "fieldmgr", namespaces: []string{ns}, projects: []string{"proj-a"}, revokeAfter: "0s", policy: "Always"})
	begin := auditMark(t)
	for i := 0; i < 2; i++ { // the second run restarts web and revokes the first credential
		if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json"); res.Code != 0 {
			t.Fatalf("rotate now: exit %d\n%s", res.Code, res.Stderr)
		}
	}
	svc := startService(t, cfg)
	eventually(t, 60*time.Second, "the service leads", func() (bool, string) {
		return svc.metric("rotator_leader") == 1, "leader " + leaderHolder(t)
	})
	start := time.Now()
	if err := rig.Admin.CoreV1().Secrets(ns).Delete(ctx, "harbor-pull", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	reaction(t, start, "the Secret restored", func() (bool, string) {
		_, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "harbor-pull", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	seen := noWriteWithoutFieldManager(t, begin)
	for _, want := range []string{"patch deployments", "create secrets", "update secrets", "patch serviceaccounts", "create events", "update leases"} {
		if !seen[want] {
			t.Errorf("no %q by the rotator: the test no longer covers that write (seen %v)", want, seen)
		}
	}
}

// noWriteWithoutFieldManager fails for each create, update or patch of the rotator since mark
// whose request does not name field manager "rotator"; it returns the kinds of writes seen.
func noWriteWithoutFieldManager(t *testing.T, mark int64) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range requestsSince(t, mark, "rotator") {
		if e.Verb != "create" && e.Verb != "update" && e.Verb != "patch" {
			continue
		}
		seen[e.Verb+" "+e.ObjectRef.Resource] = true
		u, err := url.Parse(e.RequestURI)
		if err != nil || u.Query().Get("fieldManager") != "rotator" {
			t.Errorf("a write without field manager rotator: %s %s %s/%s: %s", e.Verb, e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name, e.RequestURI)
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no write of the rotator in the audit log")
	}
	return seen
}

// owner is a GitOps tool's stand-in, Argo CD style (self-heal, ServerSideApply=true): it
// watches ServiceAccount default of its namespace and, each time the rotator's entry appears
// where its manifest has none, applies its manifest again as field manager argocd-controller.
// Server-side apply, because this API server records managedFields only for objects applied at
// least once: an owner that only updates goes unnamed ("another client").
type owner struct {
	reapplies atomic.Int32
}

func startOwner(t *testing.T, ctx context.Context, ns string, manifest []corev1.LocalObjectReference) *owner {
	t.Helper()
	o := &owner{}
	if err := applyPullSecrets(ctx, ns, manifest, "argocd-controller"); err != nil {
		t.Fatal(err)
	}
	w, err := rig.Admin.CoreV1().ServiceAccounts(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "default").String()})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			sa, ok := ev.Object.(*corev1.ServiceAccount)
			if !ok || ev.Type != watch.Modified || slices.Equal(names(sa.ImagePullSecrets), names(manifest)) {
				continue
			}
			if !slices.Contains(names(sa.ImagePullSecrets), "harbor-pull") {
				continue // someone else's edit (the test's): not the fight under test
			}
			if err := applyPullSecrets(ctx, ns, manifest, "argocd-controller"); err == nil {
				o.reapplies.Add(1)
			}
		}
	}()
	return o
}

func names(refs []corev1.LocalObjectReference) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Name)
	}
	return out
}

func setPullSecrets(t *testing.T, ns string, refs []corev1.LocalObjectReference, manager string) {
	t.Helper()
	if err := updatePullSecrets(context.Background(), ns, refs, manager); err != nil {
		t.Fatal(err)
	}
}

// applyPullSecrets server-side applies ServiceAccount default of ns with imagePullSecrets refs,
// forced, as manager: what Argo CD (ServerSideApply=true) and Flux do on each sync.
func applyPullSecrets(ctx context.Context, ns string, refs []corev1.LocalObjectReference, manager string) error {
	body, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": "default", "namespace": ns}, "imagePullSecrets": refs})
	if err != nil {
		return err
	}
	force := true
	_, err = rig.Admin.CoreV1().ServiceAccounts(ns).Patch(ctx, "default", types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: manager, Force: &force})
	return err
}

// updatePullSecrets sets imagePullSecrets of ServiceAccount default of ns by an update.
func updatePullSecrets(ctx context.Context, ns string, refs []corev1.LocalObjectReference, manager string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sa, err := rig.Admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return err
		}
		sa.ImagePullSecrets = refs
		_, err = rig.Admin.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{FieldManager: manager})
		return err
	})
}

// conflictEvent is the message of the BindingConflict Event on ServiceAccount default of ns.
func conflictEvent(t *testing.T, ns string) string {
	t.Helper()
	evs, err := rig.Admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		if e.Reason == events.ReasonBindingConflict && e.Type == corev1.EventTypeWarning && e.InvolvedObject.Kind == "ServiceAccount" && e.InvolvedObject.Name == "default" {
			return e.Message
		}
	}
	return ""
}

// saWrites are the rotator's writes of ServiceAccounts in ns since mark.
func saWrites(t *testing.T, mark int64, ns string) []string {
	t.Helper()
	var out []string
	for _, e := range requestsSince(t, mark, "rotator") {
		if e.ObjectRef.Resource == "serviceaccounts" && e.ObjectRef.Namespace == ns && isWrite(e.Verb) {
			out = append(out, fmt.Sprintf("%s %s (%d)", e.Verb, e.ObjectRef.Name, e.ResponseStatus.Code))
		}
	}
	return out
}
