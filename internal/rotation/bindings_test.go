package rotation

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/bindguard"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// An owner (Argo CD, Flux, Helm) applying a ServiceAccount manifest over and over: the
// rotator re-adds its entry twice, gives up at the third removal with a Warning Event that names
// the owner and the fix, then sends nothing more, and its runs still succeed. The owner putting
// the entry in its manifest ends it; an owner whose manifest has it never fights.
func TestBindingFightIsDetectedAndStopped(t *testing.T) {
	cases := []struct {
		name string
		// manifest is the owner's imagePullSecrets.
		manifest []corev1.LocalObjectReference
		// rotatorWrites are the rotator's writes of the ServiceAccount over the 6 re-applies.
		rotatorWrites int
		conflict      bool
	}{
		{name: "manifest without the entry: given up after 3 removals",
			manifest: []corev1.LocalObjectReference{{Name: "own"}}, rotatorWrites: 2, conflict: true},
		{name: "manifest with the entry: no fight",
			manifest: []corev1.LocalObjectReference{{Name: "own"}, {Name: "pull"}}, rotatorWrites: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, "a")
			w.cred().Targets.ServiceAccounts = []string{"default"}
			_, _ = w.kube.CoreV1().ServiceAccounts("a").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "a", UID: "sa-uid"}}, metav1.CreateOptions{})
			r := w.runner()
			r.Bindings = &bindguard.Guard{Clock: w.clock}
			r.Events = &events.Recorder{Client: w.kube, Clock: w.clock}
			must(t, r.Rotate(ctx, w.cred(), Options{SkipRolloutWait: true}), Succeeded)

			apply := func(refs []corev1.LocalObjectReference) {
				t.Helper()
				sa, err := w.kube.CoreV1().ServiceAccounts("a").Get(ctx, "default", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				sa.ImagePullSecrets = refs
				if _, err := w.kube.CoreV1().ServiceAccounts("a").Update(ctx, sa, metav1.UpdateOptions{FieldManager: "argocd-controller"}); err != nil {
					t.Fatal(err)
				}
			}
			var conflicts []string
			mark := len(w.kube.Actions())
			for range 6 {
				apply(tc.manifest)
				res := r.ReconcileNamespace(ctx, w.cred(), w.view("a"))
				if res.Err != nil {
					t.Fatalf("reconcile: %v", res.Err)
				}
				conflicts = append(conflicts, res.Conflicts...)
			}
			saWrites := 0
			for _, a := range w.kube.Actions()[mark:] {
				if a.GetResource().Resource == "serviceaccounts" && a.GetVerb() == "patch" {
					saWrites++
				}
			}
			if saWrites != tc.rotatorWrites {
				t.Errorf("the rotator wrote the ServiceAccount %d times over 6 re-applies, want %d", saWrites, tc.rotatorWrites)
			}
			evs, _ := w.kube.CoreV1().Events("a").List(ctx, metav1.ListOptions{})
			var warnings []string
			for _, e := range evs.Items {
				if e.Reason == events.ReasonBindingConflict && e.InvolvedObject.Kind == "ServiceAccount" && e.InvolvedObject.UID == "sa-uid" {
					warnings = append(warnings, e.Message)
				}
			}
			if !tc.conflict {
				if len(conflicts)+len(warnings) > 0 {
					t.Fatalf("no fight, yet conflicts %v, events %v", conflicts, warnings)
				}
				return
			}
			if len(conflicts) != 1 || len(warnings) != 1 {
				t.Fatalf("want the give-up reported once; conflicts %v, events %v", conflicts, warnings)
			}
			// Who removed it comes from managedFields, which the fake does not keep (bindguard and
			// the e2e test check the name).
			for _, want := range []string{"serviceaccount a/default", `"pull"`, "ignoreDifferences", "managedFieldsManagers", "docs/gitops.md"} {
				if !strings.Contains(warnings[0], want) {
					t.Errorf("the Event does not say %q: %s", want, warnings[0])
				}
			}

			// A run meanwhile: the binding held is a warning, not a failure that would hold the
			// credential's schedule or its revocation.
			rep := r.Rotate(ctx, w.cred(), Options{SkipRolloutWait: true})
			must(t, rep, Succeeded)
			if !slices.ContainsFunc(rep.ServiceAccounts, func(s SAResult) bool { return s.Action == "held" && s.Conflict != "" }) {
				t.Errorf("the run does not report the held binding: %+v", rep.ServiceAccounts)
			}

			// The owner puts the entry in its manifest: resolved; a later removal is fought again.
			apply([]corev1.LocalObjectReference{{Name: "own"}, {Name: "pull"}})
			r.ReconcileNamespace(ctx, w.cred(), w.view("a"))
			apply(tc.manifest)
			if res := r.ReconcileNamespace(ctx, w.cred(), w.view("a")); !slices.Equal(res.Bound, []string{"default"}) {
				t.Errorf("after the owner restored the entry and removed it again, bound %v, want [default] (%v)", res.Bound, res.Err)
			}
			sa, _ := w.kube.CoreV1().ServiceAccounts("a").Get(ctx, "default", metav1.GetOptions{})
			if !secretsync.HasPullSecret(sa, "pull") {
				t.Errorf("not bound: %v", sa.ImagePullSecrets)
			}
		})
	}
}
