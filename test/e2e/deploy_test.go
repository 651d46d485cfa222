//go:build integration

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/runlock"
	rotatorservice "github.com/rotatorhq/rotator/internal/service"
)

// The shipped kustomizations apply to a real API server: every object passes the server's
// validation and admission in a server-side dry run, and none is skipped.
func TestDeployManifestsApplyServerDryRun(t *testing.T) {
	// A dry-run Namespace is not persisted, so the namespaces the objects live in must exist:
	// the rotator's own, and the example targets of deploy/namespaced/targets.yaml.
	for _, ns := range []string{deployNamespace, "payments", "checkout"} {
		if err := rig.CreateNamespace(context.Background(), ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"deploy/base", "deploy/namespaced"} {
		t.Run(dir, func(t *testing.T) {
			path := deployDir(t, dir)
			out, err := kubectlAdmin(t, "apply", "--dry-run=server", "-k", path)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server -k %s: %v\n%s", dir, err, out)
			}
			// Deprecations and Pod Security findings come back as warnings; the one about
			// objects other tests created without kubectl is not about the manifests.
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "Warning:") && !strings.Contains(l, "last-applied-configuration") {
					t.Errorf("the API server warned about the manifests: %s", l)
				}
			}
			for _, o := range kustomizeBuild(t, path) {
				gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
				if err != nil {
					t.Fatal(err)
				}
				ref := strings.ToLower(o.GetKind())
				if gv.Group != "" {
					ref += "." + gv.Group
				}
				ref += "/" + o.GetName() + " "
				line := ""
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, ref) {
						line = l
					}
				}
				if !strings.HasSuffix(line, "(server dry run)") {
					t.Errorf("%s was not applied by the server dry run:\n%s", strings.TrimSpace(ref), out)
				}
			}
		})
	}
}

// The Deployment's pod is hardened as the issue asks, and the API server's Pod Security admission
// accepts it under the "restricted" profile (a weakened copy is refused, so the check is live).
func TestDeployPodIsRestricted(t *testing.T) {
	ctx := context.Background()
	objs := kustomizeBuild(t, deployDir(t, "deploy/base"))
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(findManifest(t, objs, "Deployment", "rotator").Object, &d); err != nil {
		t.Fatal(err)
	}
	pod, c := d.Spec.Template.Spec, d.Spec.Template.Spec.Containers[0]
	psc, csc := pod.SecurityContext, c.SecurityContext
	checks := []struct {
		what string
		ok   bool
	}{
		{"2 replicas", d.Spec.Replicas != nil && *d.Spec.Replicas == 2},
		{"ServiceAccount rotator", pod.ServiceAccountName == "rotator"},
		{"runAsNonRoot", psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot},
		{"runAsUser 65532", psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 65532},
		{"seccomp RuntimeDefault", psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"readOnlyRootFilesystem", csc != nil && csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem},
		{"allowPrivilegeEscalation false", csc != nil && csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation},
		{"capabilities drop ALL", csc != nil && csc.Capabilities != nil && slices.Contains(csc.Capabilities.Drop, "ALL") && len(csc.Capabilities.Add) == 0},
		{"cpu and memory requests", !c.Resources.Requests.Cpu().IsZero() && !c.Resources.Requests.Memory().IsZero()},
		{"memory limit", !c.Resources.Limits.Memory().IsZero()},
		{"liveness GET /healthz on 8080", c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/healthz" && c.LivenessProbe.HTTPGet.Port.String() == "http-metrics"},
		{"readiness GET /readyz on 8080", c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path == "/readyz" && c.ReadinessProbe.HTTPGet.Port.String() == "http-metrics"},
		{"port http-metrics is 8080", len(c.Ports) == 1 && c.Ports[0].Name == "http-metrics" && c.Ports[0].ContainerPort == 8080},
		{"runs /rotator run --config /etc/rotator/config.yaml", slices.Equal(c.Command, []string{"/rotator"}) && slices.Equal(c.Args, []string{"run", "--config", "/etc/rotator/config.yaml"})},
		{"config mounted at /etc/rotator", slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/etc/rotator" && m.ReadOnly })},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("deployment.yaml: not %s", ck.what)
		}
	}
	var pdb policyv1.PodDisruptionBudget
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(findManifest(t, objs, "PodDisruptionBudget", "rotator").Object, &pdb); err != nil {
		t.Fatal(err)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || !labelsMatch(pdb.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("pdb.yaml: want minAvailable 1 selecting the rotator's pods, got %+v", pdb.Spec)
	}
	var svc corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(findManifest(t, objs, "Service", "rotator-metrics").Object, &svc); err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || !labelsMatch(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) {
		t.Errorf("service.yaml: want port 8080 selecting the rotator's pods, got %+v", svc.Spec)
	}

	// Admission: the pod as the Deployment would create it, in a namespace enforcing "restricted".
	ns := namespaces(t, "dpl-psa", 1)[0]
	nsObj, err := rig.Admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := rig.Admin.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "rotator"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dryRun := func(spec corev1.PodSpec) error {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "rotator-", Namespace: ns, Labels: d.Spec.Template.Labels}, Spec: spec}
		_, err := rig.Admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	if err := dryRun(*pod.DeepCopy()); err != nil {
		t.Fatalf("the rotator's pod is refused under Pod Security \"restricted\": %v", err)
	}
	weak := pod.DeepCopy()
	weak.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	weak.SecurityContext.RunAsNonRoot = nil
	weak.SecurityContext.RunAsUser = nil
	if err := dryRun(*weak); !apierrors.IsForbidden(err) {
		t.Fatalf("control: a pod that may escalate and run as root must be refused by Pod Security admission, got %v", err)
	}
}

// labelsMatch: sel is not empty and selects a pod with these labels.
func labelsMatch(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	if sel == nil || len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(podLabels))
}

// The shipped config is valid for the rotator binary, and the RBAC next to it fits it: its state
// namespace is the manifests' namespace, every secretName is among the names RBAC lets it update,
// and deploy/namespaced binds exactly the config's target namespaces.
func TestDeployConfigMatchesRBAC(t *testing.T) {
	base := kustomizeBuild(t, deployDir(t, "deploy/base"))
	text, _, _ := unstructured.NestedString(findManifest(t, base, "ConfigMap", "rotator-config").Object, "data", "config.yaml")
	file := writeFile(t, "config.yaml", text)
	if res := runRotator(t, rig.AdminKubeconfig, "config", "validate", "--config", file); res.Code != 0 {
		t.Fatalf("the ConfigMap's config.yaml is invalid:\n%s\n%s", res.Stdout, res.Stderr)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateNamespace != deployNamespace {
		t.Errorf("config stateNamespace %q: the manifests grant state and Lease rights in %s", cfg.StateNamespace, deployNamespace)
	}
	namespaced := kustomizeBuild(t, deployDir(t, "deploy/namespaced"))
	var boundTargets []string
	for _, o := range namespaced {
		if ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name"); o.GetKind() == "RoleBinding" && ref == "rotator-target" {
			boundTargets = append(boundTargets, o.GetNamespace())
		}
	}
	for _, c := range cfg.Credentials {
		name := c.Targets.SecretName
		if !updatableByName(t, base, "rotator", name) {
			t.Errorf("deploy/base: ClusterRole rotator does not let the rotator update Secret %q of credential %s: add it to managed-secret-names.yaml", name, c.Name)
		}
		if !updatableByName(t, namespaced, "rotator-target", name) {
			t.Errorf("deploy/namespaced: ClusterRole rotator-target does not let the rotator update Secret %q of credential %s", name, c.Name)
		}
		for _, ns := range c.Targets.Namespaces {
			if !slices.Contains(boundTargets, ns) {
				t.Errorf("deploy/namespaced/targets.yaml: no RoleBinding in target namespace %s of credential %s", ns, c.Name)
			}
		}
	}
	// The Leases the code takes are the ones the Role names.
	var role rbacv1.Role
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(findManifest(t, base, "Role", "rotator").Object, &role); err != nil {
		t.Fatal(err)
	}
	for _, lease := range []string{rotatorservice.LeaderLease, runlock.DefaultName} {
		if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, "leases") && slices.Contains(r.ResourceNames, lease) && slices.Contains(r.Verbs, "update")
		}) {
			t.Errorf("deploy/base/role.yaml: Lease %s (taken by the code) is not among the Leases it may update", lease)
		}
	}
	// The namespaced variant must not keep the cluster-wide writes of the base.
	for _, o := range namespaced {
		if o.GetKind() == "ClusterRole" && o.GetName() == "rotator" {
			t.Errorf("deploy/namespaced still holds the cluster-wide ClusterRole rotator")
		}
	}
}

// updatableByName says whether ClusterRole role grants update of a Secret called name, by a rule
// limited to names (the base's patch and rotator-target must limit update by name).
func updatableByName(t *testing.T, objs []*unstructured.Unstructured, role, name string) bool {
	t.Helper()
	var cr rbacv1.ClusterRole
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(findManifest(t, objs, "ClusterRole", role).Object, &cr); err != nil {
		t.Fatal(err)
	}
	for _, r := range cr.Rules {
		if !slices.Contains(r.Resources, "secrets") || !slices.Contains(r.Verbs, "update") {
			continue
		}
		if len(r.ResourceNames) == 0 {
			t.Errorf("ClusterRole %s lets the rotator update every Secret; the update rule must be limited to the managed names", role)
			return false
		}
		if slices.Contains(r.ResourceNames, name) {
			return true
		}
	}
	return false
}
