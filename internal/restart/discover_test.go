package restart

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestDiscover(t *testing.T) {
	const ns, secret = "shop", "regcred"
	annotated := podSpec("", secret)
	annotated.Annotations = map[string]string{"rotator.dev/fp-h": "abc", "checksum/config": "0123456789abcdef"}
	annotated.Spec.InitContainers = append(annotated.Spec.InitContainers, corev1Container("migrate", "reg.example.com/team/migrate:1"))
	gone := deployment(ns, "being-deleted", podSpec("", secret))
	gone.DeletionTimestamp = &metav1.Time{}
	gone.Finalizers = []string{"example.com/hold"}

	c := fake.NewClientset(
		deployment(ns, "web", annotated),                        // names the secret
		deployment(ns, "api", podSpec("builder")),               // via its SA
		deployment(ns, "legacy", podSpec("builder", "old-reg")), // names another: SA not consulted
		gone,
		statefulSet(ns, "db", podSpec("")), // via SA "default"
		statefulSet(ns, "cache", podSpec("web")),
		daemonSet(ns, "agent", podSpec("agent", "other", secret)),
		deployment("elsewhere", "web", podSpec("", secret)), // other namespace
	)
	saHas := func(sa string) bool { return sa == "builder" || sa == "default" }

	got, err := Discover(context.Background(), c, ns, secret, saHas)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	want := []struct {
		kind      Kind
		name, via string
		sa        string
	}{
		{KindDeployment, "api", "serviceaccount/builder", "builder"},
		{KindDeployment, "web", "imagePullSecrets", "default"},
		{KindStatefulSet, "db", "serviceaccount/default", "default"},
		{KindDaemonSet, "agent", "imagePullSecrets", "agent"},
	}
	if len(got) != len(want) {
		t.Fatalf("Discover returned %d workloads, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || g.Name != w.name || g.Via != w.via || g.ServiceAccount != w.sa || g.Namespace != ns {
			t.Errorf("workload %d = %s via %q sa %q, want %s %s/%s via %q sa %q", i, g, g.Via, g.ServiceAccount, strings.ToLower(string(w.kind)), ns, w.name, w.via, w.sa)
		}
	}
	web := got[1]
	if len(web.Annotations) != 1 || web.Annotations["rotator.dev/fp-h"] != "abc" {
		t.Errorf("web annotations = %v, want the template's rotator.dev/ ones only", web.Annotations)
	}
	if len(web.Images) != 2 || web.Images[0] != "reg.example.com/team/migrate:1" || web.Images[1] != "reg.example.com/team/app:1" {
		t.Errorf("web images = %v, want init container then container", web.Images)
	}
}

func TestDiscoverPages(t *testing.T) {
	c := fake.NewClientset()
	// The fake ignores Limit/Continue; serve two pages by hand.
	c.PrependReactor("list", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		if opts.Limit != listPageSize {
			t.Errorf("list limit = %d, want %d", opts.Limit, listPageSize)
		}
		if opts.Continue == "" {
			return true, &appsv1.DeploymentList{
				ListMeta: metav1.ListMeta{Continue: "page2"},
				Items:    []appsv1.Deployment{*deployment("ns", "b", podSpec("", "s"))},
			}, nil
		}
		return true, &appsv1.DeploymentList{Items: []appsv1.Deployment{*deployment("ns", "a", podSpec("", "s"))}}, nil
	})
	got, err := Discover(context.Background(), c, "ns", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("Discover = %+v, want a and b from two pages, sorted", got)
	}
}

func TestDiscoverForbidden(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("list", "statefulsets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "statefulsets"}, "", nil)
	})
	_, err := Discover(context.Background(), c, "shop", "regcred", nil)
	if err == nil {
		t.Fatal("Discover succeeded, want a Forbidden error")
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("errors.As to the API status lost: %v", err)
	}
	for _, s := range []string{`verb "list"`, `"statefulsets.apps"`, `namespace "shop"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %s", err, s)
		}
	}
}

// DiscoverIn reads the whole cluster in one list per kind, whatever the number of namespaces,
// keeps only the target namespaces, and answers the ServiceAccount question per namespace.
func TestDiscoverInListsOncePerKind(t *testing.T) {
	const secret = "regcred"
	c := fake.NewClientset(
		deployment("a", "web", podSpec("", secret)),    // names the secret
		deployment("a", "api", podSpec("builder")),     // via SA builder, bound in a only
		deployment("b", "api", podSpec("builder")),     // SA builder of b has nothing
		statefulSet("b", "db", podSpec("")),            // via SA default of b
		daemonSet("c", "agent", podSpec("", secret)),   // not a target namespace
		deployment("b", "other", podSpec("", "other")), // another secret
	)
	saHas := func(ns, sa string) bool { return (ns == "a" && sa == "builder") || (ns == "b" && sa == "default") }
	got, err := DiscoverIn(context.Background(), c, map[string]bool{"a": true, "b": true}, secret, saHas)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range got {
		names = append(names, w.String()+" via "+w.Via)
	}
	want := []string{
		"deployment a/api via serviceaccount/builder",
		"deployment a/web via imagePullSecrets",
		"statefulset b/db via serviceaccount/default",
	}
	if strings.Join(names, "; ") != strings.Join(want, "; ") {
		t.Fatalf("DiscoverIn = %v, want %v", names, want)
	}
	lists := 0
	for _, a := range c.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("unexpected %s %s", a.GetVerb(), a.GetResource().Resource)
			continue
		}
		lists++
		if ns := a.GetNamespace(); ns != metav1.NamespaceAll {
			t.Errorf("list %s in namespace %q, want across the cluster", a.GetResource().Resource, ns)
		}
	}
	if lists != 3 {
		t.Errorf("%d lists, want one per kind (3)", lists)
	}
}

func TestDiscoverInForbiddenSaysClusterWide(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", nil)
	})
	_, err := DiscoverIn(context.Background(), c, map[string]bool{"a": true}, "regcred", func(string, string) bool { return false })
	if !apierrors.IsForbidden(err) {
		t.Fatalf("err = %v, want a Forbidden error", err)
	}
	if !strings.Contains(err.Error(), "cluster-wide") || !strings.Contains(err.Error(), `"deployments.apps"`) {
		t.Errorf("error %q does not say which cluster-wide right is missing", err)
	}
}
