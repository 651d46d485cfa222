package rotation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// view is what the namespace controller's caches would hold of ns, read from the fake cluster.
func (w *world) view(ns string) NamespaceView {
	w.t.Helper()
	ctx := context.Background()
	v := NamespaceView{Name: ns, State: w.state()}
	if n, err := w.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		v.Exists, v.Labels = true, n.Labels
	}
	if s, err := w.kube.CoreV1().Secrets(ns).Get(ctx, "pull", metav1.GetOptions{}); err == nil {
		v.Secret = s
	}
	for _, name := range w.cred().Targets.ServiceAccounts {
		if sa, err := w.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			if v.ServiceAccounts == nil {
				v.ServiceAccounts = map[string]*corev1.ServiceAccount{}
			}
			v.ServiceAccounts[name] = sa
		}
	}
	return v
}

func (w *world) editSecret(ns string, edit func(*corev1.Secret)) {
	w.t.Helper()
	s, err := w.kube.CoreV1().Secrets(ns).Get(context.Background(), "pull", metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	edit(s)
	if _, err := w.kube.CoreV1().Secrets(ns).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) replaceSecret(ns string, s *corev1.Secret) {
	w.t.Helper()
	ctx := context.Background()
	_ = w.kube.CoreV1().Secrets(ns).Delete(ctx, "pull", metav1.DeleteOptions{})
	s.Name, s.Namespace = "pull", ns
	if _, err := w.kube.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// writes counts the write requests the fake API server got since mark.
func (w *world) writes(mark int) []string {
	var out []string
	for _, a := range w.kube.Actions()[mark:] {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			out = append(out, v+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestReconcileNamespace(t *testing.T) {
	cases := []struct {
		name string
		// setup runs after a first rotation wrote ns "a" and bound its ServiceAccount.
		setup func(w *world)
		// prune sets targets.prune; selector makes "a" a target by label only.
		prune bool
		want  NamespaceOutcome
		// secret is what is done to the Secret; holds: the id the Secret must hold afterwards
		// ("current", "pending", "none", "foreign").
		secret    secretsync.Action
		holds     string
		bound     bool
		permanent bool
		// noWrites: the reconcile sent no write at all.
		noWrites bool
	}{
		{name: "in sync: nothing sent", want: NamespaceInSync, holds: "current", bound: true, noWrites: true},
		{name: "secret deleted: created again", setup: func(w *world) {
			_ = w.kube.CoreV1().Secrets("a").Delete(context.Background(), "pull", metav1.DeleteOptions{})
		}, want: NamespaceRepaired, secret: secretsync.Created, holds: "current", bound: true},
		{name: "content edited: written back", setup: func(w *world) {
			w.editSecret("a", func(s *corev1.Secret) { s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`) })
		}, want: NamespaceRepaired, secret: secretsync.Updated, holds: "current", bound: true},
		{name: "labels stripped: still the rotator's by the credential id it carries, labels restored", setup: func(w *world) {
			w.editSecret("a", func(s *corev1.Secret) { s.Labels = nil })
		}, want: NamespaceRepaired, secret: secretsync.Updated, holds: "current", bound: true},
		{name: "recreated as Opaque with the rotator's annotations: replaced with the right type", setup: func(w *world) {
			s, _ := w.kube.CoreV1().Secrets("a").Get(context.Background(), "pull", metav1.GetOptions{})
			w.replaceSecret("a", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: s.Labels, Annotations: s.Annotations},
				Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
		}, want: NamespaceRepaired, secret: secretsync.Replaced, holds: "current", bound: true},
		{name: "a Secret of that name the rotator did not write: refused, untouched, permanent", setup: func(w *world) {
			w.replaceSecret("a", &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
		}, want: NamespaceFailed, holds: "foreign", bound: true, permanent: true, noWrites: true},
		{name: "spoofed labels on a foreign Secret: the id it carries is unknown, so it is refused", setup: func(w *world) {
			w.replaceSecret("a", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{secretsync.AnnotationCredentialID: "999"}},
				Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
		}, want: NamespaceFailed, holds: "foreign", bound: true, permanent: true, noWrites: true},
		{name: "the rotator's labels on a foreign Secret: labels are no ownership, refused, untouched", setup: func(w *world) {
			w.replaceSecret("a", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
				secretsync.LabelManagedBy: secretsync.ManagedByValue, secretsync.LabelCredential: "h"}},
				Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
		}, want: NamespaceFailed, holds: "foreign", bound: true, permanent: true, noWrites: true},
		{name: "no target, prune on, the rotator's labels on a foreign Secret: untouched", prune: true, setup: func(w *world) {
			w.replaceSecret("a", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
				secretsync.LabelManagedBy: secretsync.ManagedByValue, secretsync.LabelCredential: "h"}},
				Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
			unlabel(w)
		}, want: NamespaceNotTarget, holds: "foreign", bound: true, noWrites: true},
		{name: "ServiceAccount unbound: bound again", setup: func(w *world) {
			sa, _ := w.kube.CoreV1().ServiceAccounts("a").Get(context.Background(), "default", metav1.GetOptions{})
			sa.ImagePullSecrets = nil
			_, _ = w.kube.CoreV1().ServiceAccounts("a").Update(context.Background(), sa, metav1.UpdateOptions{})
		}, want: NamespaceRepaired, holds: "current", bound: true},
		{name: "ServiceAccount not created yet: nothing to bind, no error", setup: func(w *world) {
			_ = w.kube.CoreV1().ServiceAccounts("a").Delete(context.Background(), "default", metav1.DeleteOptions{})
		}, want: NamespaceInSync, holds: "current", noWrites: true},
		{name: "holds the pending credential of a run in flight: left as it is", setup: func(w *world) {
			holdPending(w, "a")
		}, want: NamespaceInSync, holds: "pending", bound: true, noWrites: true},
		{name: "no credential issued yet: waits for the first run", setup: func(w *world) {
			_ = w.kube.CoreV1().Secrets("rotator-system").Delete(context.Background(), state.SecretName("h"), metav1.DeleteOptions{})
			_ = w.kube.CoreV1().Secrets("a").Delete(context.Background(), "pull", metav1.DeleteOptions{})
		}, want: NamespaceWaiting, holds: "none", bound: true, noWrites: true},
		{name: "no target any more, prune off: kept", setup: unlabel, want: NamespaceNotTarget, holds: "current", bound: true, noWrites: true},
		{name: "no target any more, prune on: Secret deleted and unbound", setup: unlabel, prune: true,
			want: NamespacePruned, secret: "deleted", holds: "none"},
		{name: "no target, prune on, a foreign Secret of that name: untouched", prune: true, setup: func(w *world) {
			w.replaceSecret("a", &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
			unlabel(w)
		}, want: NamespaceNotTarget, holds: "foreign", bound: true, noWrites: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "a")
			ctx := context.Background()
			ns, _ := w.kube.CoreV1().Namespaces().Get(ctx, "a", metav1.GetOptions{})
			ns.Labels = map[string]string{"team": "x"}
			_, _ = w.kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
			_, _ = w.kube.CoreV1().ServiceAccounts("a").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "a"}}, metav1.CreateOptions{})
			c := w.cred()
			c.Targets.Namespaces, c.Targets.NamespaceSelector = nil, "team=x"
			c.Targets.ServiceAccounts = []string{"default"}
			must(t, w.rotate(Options{}), Succeeded)
			current := w.state().Current.ID
			c.Targets.Prune = tc.prune
			if tc.setup != nil {
				tc.setup(w)
			}
			mark := len(w.kube.Actions())
			res := w.runner().ReconcileNamespace(ctx, c, w.view("a"))
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (err %v), want %s", res.Outcome, res.Err, tc.want)
			}
			if res.Secret != tc.secret {
				t.Errorf("secret %q, want %q", res.Secret, tc.secret)
			}
			if (res.Err != nil && res.Permanent) != tc.permanent {
				t.Errorf("permanent %v (err %v), want %v", res.Permanent, res.Err, tc.permanent)
			}
			if tc.permanent && !errors.Is(res.Err, secretsync.ErrNotManaged) {
				t.Errorf("err %v, want ErrNotManaged", res.Err)
			}
			writes := w.writes(mark)
			if tc.noWrites && len(writes) > 0 {
				t.Errorf("writes %v, want none", writes)
			}
			s, err := w.kube.CoreV1().Secrets("a").Get(ctx, "pull", metav1.GetOptions{})
			got := "none"
			switch {
			case err != nil:
			case !secretsync.IsManaged(s, "h") || string(s.Data["x"]) == "y": // the tests' foreign Secrets hold x=y
				got = "foreign"
			case s.Annotations[secretsync.AnnotationCredentialID] == current && w.pulls("a"):
				got = "current"
			case w.state().Pending != nil && s.Annotations[secretsync.AnnotationCredentialID] == w.state().Pending.ID:
				got = "pending"
			default:
				got = "other:" + s.Annotations[secretsync.AnnotationCredentialID]
			}
			if got != tc.holds {
				t.Errorf("the Secret holds %s, want %s", got, tc.holds)
			}
			if got == "current" && s.Type != corev1.SecretTypeDockerConfigJson {
				t.Errorf("type %s", s.Type)
			}
			sa, err := w.kube.CoreV1().ServiceAccounts("a").Get(ctx, "default", metav1.GetOptions{})
			bound := err == nil && secretsync.HasPullSecret(sa, "pull")
			if bound != tc.bound {
				t.Errorf("bound %v, want %v (%v)", bound, tc.bound, sa)
			}
		})
	}
}

func unlabel(w *world) {
	ns, _ := w.kube.CoreV1().Namespaces().Get(context.Background(), "a", metav1.GetOptions{})
	ns.Labels = map[string]string{"team": "y"}
	_, _ = w.kube.CoreV1().Namespaces().Update(context.Background(), ns, metav1.UpdateOptions{})
}

// holdPending makes a run in flight: a new credential issued, pending in the state, written to ns.
func holdPending(w *world, ns string) {
	w.t.Helper()
	rep := w.rotate(Options{DeferRestart: true})
	if w.state().Pending == nil || !slices.ContainsFunc(rep.Secrets, func(s SecretResult) bool { return s.Namespace == ns }) {
		w.t.Fatalf("no pending credential written to %s: %s, %v", ns, rep.Result, rep.Errors)
	}
}

// A configured ServiceAccount that a target namespace does not have (yet) is a warning of the
// run, not a failure: `rotator run` binds it when it appears, and a failure would hold back the
// schedule of every namespace for one that has not created it.
func TestMissingServiceAccountIsAWarningOfTheRun(t *testing.T) {
	w := newWorld(t, "a")
	w.cred().Targets.ServiceAccounts = []string{"app"}
	rep := w.rotate(Options{})
	must(t, rep, Succeeded)
	if !slices.ContainsFunc(rep.Warnings, func(s string) bool { return strings.Contains(s, "serviceaccount a/app does not exist yet") }) {
		t.Fatalf("warnings %v: want one naming serviceaccount a/app", rep.Warnings)
	}
}
