//go:build integration

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// The chart installed as README's install section says, cluster-wide RBAC: the rendered objects
// pass a server-side dry run, helm install creates them, and the rendered Deployment's command
// line, run as the rendered ServiceAccount, rotates and serves with no refused call; what the
// RBAC must refuse, the API server refuses (the checks of the kustomize test).
func TestHelmChartClusterWideAsServiceAccount(t *testing.T) {
	const sys, release = "hlm-cw-system", "rotator-hcw"
	nss := deployTargets(t, "hlm-cw", 2)
	unmanagedSecret(t, nss[0], "app-credentials")
	kubeconfig := helmInstall(t, release, sys, "clusterWide", nss)
	clusterWideRBACChecks(t, kubeconfig, nss[0], sys)
}

// The same with rbac.variant namespaced: writes only in the targets, refused outside them.
func TestHelmChartNamespacedAsServiceAccount(t *testing.T) {
	const sys, release = "hlm-ns-system", "rotator-hns"
	nss := deployTargets(t, "hlm-ns", 2)
	outside := deployTargets(t, "hlm-ns-out", 1)[0] // like the targets, not in the chart's values
	unmanagedSecret(t, nss[0], "app-credentials")
	kubeconfig := helmInstall(t, release, sys, variantNamespaced, nss)
	user := "system:serviceaccount:" + sys + ":" + release
	outsideTargetRefused(t, kubeconfig, user, deployConfig(t, release, sys, append(slices.Clone(nss), outside)), outside)
	namespacedRBACChecks(t, kubeconfig, nss[0], outside, sys)
}

const variantNamespaced = "namespaced"

// helmInstall installs the chart as release in namespace sys with the README's commands, for a
// sandbox credential targeting nss; checks the rotation and the service run as the rendered
// Deployment's ServiceAccount; returns that identity's kubeconfig.
func helmInstall(t *testing.T, release, sys, variant string, nss []string) string {
	t.Helper()
	values := writeFile(t, "values.yaml", fmt.Sprintf(`# The sandbox's Harbor, as a user's values.yaml names theirs.
config:
  credentials:
  - name: %s
    provider: harbor
    harbor:
      url: %s
      username: %s
      passwordFrom: {file: /var/run/secrets/rotator/harbor/password}
      projects: [proj-a]
    lifetime: 30d
    revokeAfter: 1h
    targets:
      secretName: harbor-pull
      namespaces: [%s]
      serviceAccounts: [default]
    restart:
      timeout: 90s
rbac:
  variant: %s
`, release, rig.HarborURL, rig.HarborUsername, strings.Join(nss, ", "), variant))
	password := writeFile(t, "harbor-password", rig.HarborPassword)
	chart := deployDir(t, "charts/rotator")

	// README: the namespace, restricted, and the admin password's Secret before the install.
	for _, args := range [][]string{
		{"create", "namespace", sys},
		{"label", "namespace", sys, "pod-security.kubernetes.io/enforce=restricted"},
		{"-n", sys, "create", "secret", "generic", "rotator-harbor", "--from-file=password=" + password},
	} {
		if out, err := kubectlAdmin(t, args...); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	// Every rendered object passes the API server's validation and admission.
	rendered := helmCmd(t, "template", release, chart, "-n", sys, "-f", values)
	file := writeFile(t, "rendered.yaml", rendered)
	out, err := kubectlAdmin(t, "apply", "--dry-run=server", "-f", file)
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server of the chart: %v\n%s", err, out)
	}
	objs := decodeObjects(t, rendered)
	serverDryRunApplied(t, out, objs)

	// The README's helm install, with no pod started: the sandbox cannot pull the release image
	// (and must not try: its node simulator really pulls). The rotator's pod is run below instead.
	helmCmd(t, "install", release, chart, "-n", sys, "--create-namespace", "-f", values, "--set", "replicas=0", "--kubeconfig", rig.AdminKubeconfig)

	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(findManifest(t, objs, "Deployment", release).Object, &d); err != nil {
		t.Fatal(err)
	}
	sa := d.Spec.Template.Spec.ServiceAccountName
	kubeconfig := serviceAccountKubeconfig(t, sys, sa)
	user := "system:serviceaccount:" + sys + ":" + sa
	argv, root := podCommandLine(t, &d, sys)

	mark := auditMark(t)
	res := runRotator(t, kubeconfig, "rotate", "now", "--config", filepath.Join(root, "etc/rotator/config.yaml"), "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("rotate now as serviceaccount %s/%s failed (exit %d):\n%s\n%s", sys, sa, res.Code, res.Stdout, res.Stderr)
	}
	assertDeployRotation(t, res, release, sys, nss)
	noForbiddenRequests(t, mark, user)

	// The Deployment's own command line, as its pod runs it.
	mark = auditMark(t)
	runService(t, append(argv, "--kubeconfig", kubeconfig), sys, d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path)
	noForbiddenRequests(t, mark, user)
	return kubeconfig
}

// podCommandLine lays out the rendered pod's volumes under a directory as kubelet would mount
// them (ConfigMaps and Secrets read from the cluster, emptyDirs empty) and returns its container's
// command line with the rotator binary for its command and each mount path moved under that
// directory, in the arguments and in the mounted files (the config names the password file by its
// path in the pod).
func podCommandLine(t *testing.T, d *appsv1.Deployment, ns string) (argv []string, root string) {
	t.Helper()
	ctx := context.Background()
	root = t.TempDir()
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	// One pass (a Replacer does not rescan what it wrote): root itself is under /tmp, a mount path.
	var pairs []string
	for _, m := range c.VolumeMounts {
		pairs = append(pairs, m.MountPath+"/", filepath.Join(root, m.MountPath)+"/")
	}
	move := strings.NewReplacer(pairs...).Replace
	for _, m := range c.VolumeMounts {
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, v := range spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				cm, err := rig.Admin.CoreV1().ConfigMaps(ns).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("volume %s: %v", v.Name, err)
				}
				for k, s := range cm.Data {
					files[k] = []byte(move(s))
				}
			case v.Secret != nil:
				s, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("volume %s: %v", v.Name, err)
				}
				files = s.Data
			case v.EmptyDir != nil:
			default:
				t.Fatalf("volume %s: a kind the test does not lay out", v.Name)
			}
		}
		for k, b := range files {
			if err := os.WriteFile(filepath.Join(dir, k), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(c.Command) != 1 || c.Command[0] != "/rotator" {
		t.Fatalf("the Deployment's command is %q, want [/rotator] (the image's binary)", c.Command)
	}
	argv = []string{rotatorBin}
	for _, a := range c.Args {
		argv = append(argv, move(a))
	}
	return argv, root
}

// helmCmd runs the pinned helm and returns its stdout, failing on an error.
func helmCmd(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(sandbox.ToolsDir(), "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found in %s: build it with 'make helm' (hack/build-tools.sh helm)", sandbox.ToolsDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// decodeObjects splits a multi-document YAML stream into objects.
func decodeObjects(t *testing.T, text string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatal(err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// serverDryRunApplied fails unless kubectl's output (out) says every object of objs was applied
// by the server dry run, with no warning from the API server.
func serverDryRunApplied(t *testing.T, out string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Warning:") && !strings.Contains(l, "last-applied-configuration") {
			t.Errorf("the API server warned about the manifests: %s", l)
		}
	}
	for _, o := range objs {
		gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
		if err != nil {
			t.Fatal(err)
		}
		ref := strings.ToLower(o.GetKind())
		if gv.Group != "" {
			ref += "." + gv.Group
		}
		ref += "/" + o.GetName() + " "
		ok := false
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, ref) && strings.HasSuffix(l, "(server dry run)") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s was not applied by the server dry run:\n%s", strings.TrimSpace(ref), out)
		}
	}
}
