//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/sandbox"
	rotatorservice "github.com/rotatorhq/rotator/internal/service"
	"github.com/rotatorhq/rotator/internal/state"
)

// The rotator runs as the shipped ServiceAccount under the shipped cluster-wide RBAC
// (deploy/base): a full rotation succeeds without one refused call, and what it has no business
// doing is refused by the API server.
func TestDeployClusterWideRBACAsServiceAccount(t *testing.T) {
	const sys, prefix = "dpl-cw-system", "dpl-cw-"
	applyManifests(t, rbacInstance(t, kustomizeBuild(t, deployDir(t, "deploy/base")), sys, prefix))
	nss := deployTargets(t, "dpl-cw", 2)
	unmanagedSecret(t, nss[0], "app-credentials")
	kubeconfig := serviceAccountKubeconfig(t, sys, "rotator")
	user := "system:serviceaccount:" + sys + ":rotator"

	mark := auditMark(t)
	res := runRotator(t, kubeconfig, "rotate", "now", "--config", deployConfig(t, "dpl-cw", sys, nss), "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("rotate now as serviceaccount %s/rotator failed (exit %d):\n%s\n%s", sys, res.Code, res.Stdout, res.Stderr)
	}
	assertDeployRotation(t, res, "dpl-cw", sys, nss)
	noForbiddenRequests(t, mark, user)

	// The service as the Deployment runs it: it elects itself on the Lease rotator-leader of its
	// namespace, reports ready, and stops on SIGTERM, with no refused call on the way.
	mark = auditMark(t)
	runServiceAs(t, kubeconfig, deployConfig(t, "dpl-cw", sys, nss), sys)
	noForbiddenRequests(t, mark, user)

	clusterWideRBACChecks(t, kubeconfig, nss[0], sys)
}

// With deploy/namespaced, the rotator rotates its targets and cannot write anywhere else: the
// same calls that work in a target namespace are refused in a namespace outside the targets, and
// a rotator configured with that namespace gets Forbidden for it.
func TestDeployNamespacedRBACAsServiceAccount(t *testing.T) {
	const sys, prefix = "dpl-ns-system", "dpl-ns-"
	nss := deployTargets(t, "dpl-ns", 2)
	outside := deployTargets(t, "dpl-ns-out", 1)[0] // a namespace like the targets, not bound
	objs := rbacInstance(t, kustomizeBuild(t, deployDir(t, "deploy/namespaced")), sys, prefix)
	applyManifests(t, targetBindings(t, objs, sys, nss))
	unmanagedSecret(t, nss[0], "app-credentials")
	kubeconfig := serviceAccountKubeconfig(t, sys, "rotator")
	user := "system:serviceaccount:" + sys + ":rotator"

	mark := auditMark(t)
	res := runRotator(t, kubeconfig, "rotate", "now", "--config", deployConfig(t, "dpl-ns", sys, nss), "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("rotate now as serviceaccount %s/rotator failed (exit %d):\n%s\n%s", sys, res.Code, res.Stdout, res.Stderr)
	}
	assertDeployRotation(t, res, "dpl-ns", sys, nss)
	noForbiddenRequests(t, mark, user)

	outsideTargetRefused(t, kubeconfig, user, deployConfig(t, "dpl-ns", sys, append(slices.Clone(nss), outside)), outside)
	namespacedRBACChecks(t, kubeconfig, nss[0], outside, sys)
}

// outsideTargetRefused: the rotator under the namespaced RBAC, configured (cfg) with target
// outside beyond its RoleBindings, fails that target with Forbidden and writes nothing there.
func outsideTargetRefused(t *testing.T, kubeconfig, user, cfg, outside string) {
	t.Helper()
	mark := auditMark(t)
	res := runRotator(t, kubeconfig, "rotate", "now", "--if-due", "--config", cfg, "-o", "json")
	if res.Code != 1 || !strings.Contains(res.Stdout+res.Stderr, outside) {
		t.Fatalf("a target outside the RBAC must fail naming %s (exit 1), got exit %d:\n%s\n%s", outside, res.Code, res.Stdout, res.Stderr)
	}
	refused := false
	for _, e := range requestsSince(t, mark, user) {
		if e.ObjectRef.Namespace != outside {
			continue
		}
		if e.ResponseStatus.Code == 403 {
			refused = true
		} else if slices.Contains([]string{"create", "update", "patch", "delete"}, e.Verb) {
			t.Errorf("the rotator wrote in %s, outside its targets: %s %s/%s (%d)", outside, e.Verb, e.ObjectRef.Resource, e.ObjectRef.Name, e.ResponseStatus.Code)
		}
	}
	if !refused {
		t.Errorf("the audit log shows no 403 for %s in %s: the run did not try the namespace", user, outside)
	}
	if _, err := rig.Admin.CoreV1().Secrets(outside).Get(context.Background(), "harbor-pull", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("secret %s/harbor-pull: want none, got %v", outside, err)
	}

}

// clusterWideRBACChecks: what the cluster-wide RBAC (deploy/base, the chart's rbac.variant
// clusterWide) lets kubeconfig's identity do and refuses it; ns is a target namespace holding
// the managed Secret harbor-pull and the unmanaged app-credentials, sys the rotator's own.
func clusterWideRBACChecks(t *testing.T, kubeconfig, ns, sys string) {
	t.Helper()
	c := clientFromKubeconfig(t, kubeconfig)
	mustBeAllowed(t, "read back the managed Secret", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(ns).Get(ctx, "harbor-pull", metav1.GetOptions{})
		return err
	})
	mustBeForbidden(t, "get an unrelated Secret in a target namespace", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(ns).Get(ctx, "app-credentials", metav1.GetOptions{})
		return err
	})
	mustBeForbidden(t, "list the Secrets of a target namespace without the name selector", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		return err
	})
	mustBeForbidden(t, "list every Secret of the cluster", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		return err
	})
	mustBeForbidden(t, "list the Secrets of another name", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=app-credentials"})
		return err
	})
	mustBeAllowed(t, "list the managed Secrets across the cluster with the name selector", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=harbor-pull"})
		return err
	})
	mustBeForbidden(t, "update a Secret it does not manage", func(ctx context.Context) error {
		s, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "app-credentials", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("admin get: %w (not the check)", err)
		}
		s.StringData = map[string]string{"password": "overwritten"}
		_, err = c.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	mustBeForbidden(t, "delete a Secret it does not manage", func(ctx context.Context) error {
		return c.CoreV1().Secrets(ns).Delete(ctx, "app-credentials", metav1.DeleteOptions{})
	})
	mustBeForbidden(t, "patch the managed Secret (a verb it never uses)", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(ns).Patch(ctx, "harbor-pull", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
		return err
	})
	forbiddenEverywhere(t, c, ns, sys)

	// Supplement: the API server's own answer to "can I", for the two Secrets above.
	if got := canIAs(t, kubeconfig, "update", "secrets/app-credentials", "-n", ns); got != "no" {
		t.Errorf("kubectl auth can-i update secrets/app-credentials: %q, want no", got)
	}
	if got := canIAs(t, kubeconfig, "update", "secrets/harbor-pull", "-n", ns); got != "yes" {
		t.Errorf("kubectl auth can-i update secrets/harbor-pull: %q, want yes", got)
	}
}

// namespacedRBACChecks: what the namespaced RBAC (deploy/namespaced, the chart's rbac.variant
// namespaced) lets kubeconfig's identity do in target namespace target and refuses it in
// outside, a namespace like the targets with no RoleBinding; sys is the rotator's own.
func namespacedRBACChecks(t *testing.T, kubeconfig, target, outside, sys string) {
	t.Helper()
	ctx := context.Background()
	c := clientFromKubeconfig(t, kubeconfig)
	mustBeAllowed(t, "inside the targets: create a Secret", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(target).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dpl-probe"}}, metav1.CreateOptions{})
		return err
	})
	mustBeAllowed(t, "inside the targets: update the managed Secret", func(ctx context.Context) error {
		s, err := c.CoreV1().Secrets(target).Get(ctx, "harbor-pull", metav1.GetOptions{})
		if err == nil {
			_, err = c.CoreV1().Secrets(target).Update(ctx, s, metav1.UpdateOptions{})
		}
		return err
	})
	mustBeAllowed(t, "inside the targets: restart a Deployment", func(ctx context.Context) error {
		_, err := c.AppsV1().Deployments(target).Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"metadata":{"annotations":{"rotator.dev/probe":"1"}}}`), metav1.PatchOptions{})
		return err
	})
	mustBeForbidden(t, "outside the targets: create the pull Secret", func(ctx context.Context) error {
		_, err := c.CoreV1().Secrets(outside).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "harbor-pull"}}, metav1.CreateOptions{})
		return err
	})
	if _, err := rig.Admin.CoreV1().Secrets(outside).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "harbor-pull"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustBeForbidden(t, "outside the targets: update the pull Secret", func(ctx context.Context) error {
		s, err := rig.Admin.CoreV1().Secrets(outside).Get(ctx, "harbor-pull", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("admin get: %w (not the check)", err)
		}
		_, err = c.CoreV1().Secrets(outside).Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	mustBeForbidden(t, "outside the targets: bind the ServiceAccount", func(ctx context.Context) error {
		_, err := c.CoreV1().ServiceAccounts(outside).Patch(ctx, "default", types.JSONPatchType, []byte(`[{"op":"add","path":"/imagePullSecrets","value":[{"name":"harbor-pull"}]}]`), metav1.PatchOptions{})
		return err
	})
	mustBeForbidden(t, "outside the targets: restart a Deployment", func(ctx context.Context) error {
		_, err := c.AppsV1().Deployments(outside).Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"metadata":{"annotations":{"rotator.dev/probe":"1"}}}`), metav1.PatchOptions{})
		return err
	})
	mustBeForbidden(t, "outside the targets: delete a Pod", func(ctx context.Context) error {
		// Authorization comes before the lookup: the name need not exist.
		return c.CoreV1().Pods(outside).Delete(ctx, "web-0", metav1.DeleteOptions{})
	})
	mustBeForbidden(t, "inside the targets: update a Secret it does not manage", func(ctx context.Context) error {
		s, err := rig.Admin.CoreV1().Secrets(target).Get(ctx, "app-credentials", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("admin get: %w (not the check)", err)
		}
		_, err = c.CoreV1().Secrets(target).Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	forbiddenEverywhere(t, c, target, sys)

	if got := canIAs(t, kubeconfig, "create", "secrets", "-n", outside); got != "no" {
		t.Errorf("kubectl auth can-i create secrets -n %s: %q, want no", outside, got)
	}
	if got := canIAs(t, kubeconfig, "create", "secrets", "-n", target); got != "yes" {
		t.Errorf("kubectl auth can-i create secrets -n %s: %q, want yes", target, got)
	}
}

// forbiddenEverywhere: what neither RBAC variant allows anywhere. ns is a target namespace,
// sys the rotator's own.
func forbiddenEverywhere(t *testing.T, c kubernetes.Interface, ns, sys string) {
	t.Helper()
	mustBeForbidden(t, "create a ConfigMap", func(ctx context.Context) error {
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dpl-probe"}}, metav1.CreateOptions{})
		return err
	})
	mustBeForbidden(t, "patch a Namespace", func(ctx context.Context) error {
		_, err := c.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
		return err
	})
	mustBeForbidden(t, "create a Pod", func(ctx context.Context) error {
		_, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "dpl-probe"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: rig.Images["proj-a"]}}},
		}, metav1.CreateOptions{})
		return err
	})
	mustBeForbidden(t, "read Nodes", func(ctx context.Context) error {
		_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		return err
	})
	mustBeForbidden(t, "delete a Deployment", func(ctx context.Context) error {
		return c.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{})
	})
	mustBeForbidden(t, "create a Deployment", func(ctx context.Context) error {
		d := sandbox.Deployment(ns, "dpl-probe", rig.Images["proj-a"], "", 1)
		_, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
		return err
	})
	mustBeForbidden(t, "grant itself a role (create a RoleBinding)", func(ctx context.Context) error {
		_, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "dpl-probe"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "rotator", Namespace: sys}},
		}, metav1.CreateOptions{})
		return err
	})
	mustBeForbidden(t, "mint a token for a ServiceAccount", func(ctx context.Context) error {
		_, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		return err
	})
	mustBeForbidden(t, "take over a Lease that is not its own", func(ctx context.Context) error {
		holder := "someone-else"
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "other-controller", Namespace: sys}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
		if _, err := rig.Admin.CoordinationV1().Leases(sys).Create(ctx, l, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("admin create: %w (not the check)", err)
		}
		mine := "rotator"
		l.Spec.HolderIdentity = &mine
		_, err := c.CoordinationV1().Leases(sys).Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
}

// targetBindings replaces the example target RoleBindings of deploy/namespaced (namespaces
// payments and checkout) by the same binding in each of nss.
func targetBindings(t *testing.T, objs []*unstructured.Unstructured, sys string, nss []string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	var template *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "RoleBinding" && o.GetNamespace() != sys {
			template = o
			continue
		}
		out = append(out, o)
	}
	if template == nil {
		t.Fatal("deploy/namespaced has no target RoleBinding to copy")
	}
	for _, ns := range nss {
		b := template.DeepCopy()
		b.SetNamespace(ns)
		out = append(out, b)
	}
	return out
}

// unmanagedSecret is a Secret in ns that someone else wrote.
func unmanagedSecret(t *testing.T, ns, name string) {
	t.Helper()
	_, err := rig.Admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		StringData: map[string]string{"password": "not-the-rotators"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// deployTargets makes n namespaces with a dependent workload each: the first a Deployment naming
// the pull secret, the others a StatefulSet getting it through ServiceAccount default (its pod,
// stuck pulling, is replaced by the rotator: pods list/delete).
func deployTargets(t *testing.T, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	nss := namespaces(t, prefix, n)
	img := rig.Images["proj-a"]
	for i, ns := range nss {
		var obj any = sandbox.Deployment(ns, "web", img, "harbor-pull", 1)
		if i > 0 {
			obj = sandbox.StatefulSet(ns, "db", img, "")
		}
		if err := rig.Apply(ctx, obj); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "default serviceaccount of "+ns, func() (bool, string) {
			_, err := rig.Admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, fmt.Sprint(err)
		})
	}
	return nss
}

// deployConfig is a rotator config for credential name, its state in sys, targets nss.
func deployConfig(t *testing.T, name, sys string, nss []string) string {
	t.Helper()
	return writeFile(t, "config-"+name+".yaml", "stateNamespace: "+sys+"\n"+
		harborCredentialYAML(name, "1h", "    namespaces: ["+strings.Join(nss, ", ")+"]\n"))
}

// assertDeployRotation: every target holds the new credential and it pulls, the ServiceAccounts
// are bound, the workloads rolled out with it, and the state was saved in sys.
func assertDeployRotation(t *testing.T, res rotateResult, credential, sys string, nss []string) {
	t.Helper()
	ctx := context.Background()
	if len(res.Reports) != 1 || res.Reports[0].Issued == nil {
		t.Fatalf("want one report with an issued credential: %+v", res.Reports)
	}
	issued := res.Reports[0].Issued.Name
	for i, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if u != issued {
			t.Errorf("secret %s/harbor-pull holds %s, want the issued %s", ns, u, issued)
		}
		if err := pull(rig.Images["proj-a"], u, p); err != nil {
			t.Errorf("the credential in %s does not pull: %v", ns, err)
		}
		sa, err := rig.Admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil || !slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: "harbor-pull"}) {
			t.Errorf("serviceaccount %s/default not bound to harbor-pull: %v %+v", ns, err, sa)
		}
		if i == 0 {
			waitAvailable(t, ns, "web")
			continue
		}
		eventually(t, 90*time.Second, "statefulset "+ns+"/db rolled out", func() (bool, string) {
			s, err := rig.Admin.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return statefulSetDone(s), fmt.Sprintf("%+v", s.Status)
		})
	}
	if _, err := rig.Admin.CoreV1().Secrets(sys).Get(ctx, state.SecretName(credential), metav1.GetOptions{}); err != nil {
		t.Errorf("state of %s not saved in %s: %v", credential, sys, err)
	}
}

func statefulSetDone(s *appsv1.StatefulSet) bool {
	st := s.Status
	return st.ObservedGeneration >= s.Generation && st.ReadyReplicas == 1 && st.UpdatedReplicas == 1 && st.CurrentRevision == st.UpdateRevision
}

// runServiceAs runs `rotator run` with kubeconfig until it holds the leader Lease in sys and
// answers /readyz, then stops it with SIGTERM, as kubelet would.
func runServiceAs(t *testing.T, kubeconfig, cfg, sys string) {
	t.Helper()
	runService(t, []string{rotatorBin, "--kubeconfig", kubeconfig, "run", "--config", cfg, "--lease-duration", "4s"}, sys, "/readyz")
}

// runService runs the command line argv of `rotator run` with --listen on a free loopback port
// appended, until it holds the leader Lease in sys and answers readyPath, then stops it with
// SIGTERM, as kubelet would.
func runService(t *testing.T, argv []string, sys, readyPath string) {
	t.Helper()
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(argv[0], append(slices.Clone(argv[1:]), "--listen", addr)...)
	cmd.Env = append(os.Environ(), "HARBOR_PASSWORD="+rig.HarborPassword)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if err := <-done; err != nil && !t.Failed() {
			t.Logf("rotator run ended after its kill: %v", err)
		}
		if t.Failed() {
			t.Logf("rotator run stderr:\n%s", stderr.String())
		}
	})
	eventually(t, 30*time.Second, "rotator run leads in "+sys+" and is ready", func() (bool, string) {
		lease, err := rig.Admin.CoordinationV1().Leases(sys).Get(ctx, rotatorservice.LeaderLease, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return false, "lease has no holder"
		}
		resp, err := http.Get("http://" + addr + readyPath)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, "readyz " + resp.Status
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Errorf("rotator run did not exit cleanly on SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("rotator run still running 30s after SIGTERM")
	}
}
