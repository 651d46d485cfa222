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
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// The namespace every shipped manifest puts the rotator in.
const deployNamespace = "rotator-system"

// deployDir is a kustomization directory of the repository (deploy/base, deploy/namespaced).
func deployDir(t *testing.T, rel string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// Tests run in test/e2e.
	return filepath.Join(wd, "..", "..", rel)
}

// kubectlAdmin runs kubectl as cluster-admin of the sandbox and returns its combined output.
func kubectlAdmin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return kubectlWith(t, rig.AdminKubeconfig, args...)
}

// kubectlWith runs kubectl with kubeconfig. kubectl 1.32 carries kustomize, so -k and `kustomize`
// are what users run.
func kubectlWith(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// kustomizeBuild renders a kustomization directory into its objects.
func kustomizeBuild(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := kubectlAdmin(t, "kustomize", dir)
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kustomize output of %s: %v", dir, err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// findManifest returns the object of kind named name (any namespace), or fails.
func findManifest(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && (o.GetName() == name || (kind == "ConfigMap" && strings.HasPrefix(o.GetName(), name+"-"))) {
			return o
		}
	}
	t.Fatalf("the manifests have no %s %s", kind, name)
	return nil
}

// rbacInstance renames the identity and RBAC objects of the shipped manifests so that a test
// can apply them next to the sandbox's own "rotator" ClusterRole and other tests' namespaces:
// namespace rotator-system becomes ns, cluster-scoped names get prefix. Nothing else changes:
// rules, verbs and resourceNames are the shipped ones. Only the kinds that make up the identity
// are kept (the Deployment's image cannot be pulled in the sandbox).
func rbacInstance(t *testing.T, objs []*unstructured.Unstructured, ns, prefix string) []*unstructured.Unstructured {
	t.Helper()
	keep := map[string]bool{"Namespace": true, "ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true}
	var out []*unstructured.Unstructured
	for _, in := range objs {
		if !keep[in.GetKind()] {
			continue
		}
		o := in.DeepCopy()
		switch {
		case o.GetKind() == "Namespace" && o.GetName() == deployNamespace:
			o.SetName(ns)
		case o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding":
			o.SetName(prefix + o.GetName())
		}
		if o.GetNamespace() == deployNamespace {
			o.SetNamespace(ns)
		}
		if kind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind"); kind == "ClusterRole" {
			name, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
			if err := unstructured.SetNestedField(o.Object, prefix+name, "roleRef", "name"); err != nil {
				t.Fatal(err)
			}
		}
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		for _, s := range subjects {
			if m, ok := s.(map[string]any); ok && m["namespace"] == deployNamespace {
				m["namespace"] = ns
			}
		}
		if subjects != nil {
			if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, o)
	}
	return out
}

// applyManifests applies objs with kubectl as cluster-admin, the way a user applies manifests.
func applyManifests(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	file := writeFile(t, "manifests.yaml", strings.Join(docs, "---\n"))
	if out, err := kubectlAdmin(t, "apply", "-f", file); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// serviceAccountKubeconfig returns a kubeconfig holding a TokenRequest token of ServiceAccount
// ns/name: the identity the Deployment's pods get. The token lives in a 0600 file, never in an
// argument.
func serviceAccountKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	exp := int64(3600)
	tok, err := rig.Admin.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for serviceaccount %s/%s: %v", ns, name, err)
	}
	content := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster: {server: %s, certificate-authority: %s}\nusers:\n- name: u\n  user: {token: %s}\ncontexts:\n- name: c\n  context: {cluster: s, user: u}\ncurrent-context: c\n",
		rig.KubeURL, rig.CAFile(), tok.Status.Token)
	return writeFile(t, "kubeconfig-"+name, content)
}

// clientFromKubeconfig builds a client from kubeconfig.
func clientFromKubeconfig(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustBeForbidden is one named check: the API server answers call with 403 Forbidden. Any other
// answer, success included, fails: the proof is the server's refusal, not a client-side error.
func mustBeForbidden(t *testing.T, name string, call func(ctx context.Context) error) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		err := call(context.Background())
		if !apierrors.IsForbidden(err) {
			t.Fatalf("want 403 Forbidden from the API server, got %v", err)
		}
	})
}

// mustBeAllowed is the control of mustBeForbidden: the same identity can do what it needs.
func mustBeAllowed(t *testing.T, name string, call func(ctx context.Context) error) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		if err := call(context.Background()); err != nil {
			t.Fatalf("want success, got %v", err)
		}
	})
}

// canIAs asks the API server (SelfSubjectAccessReview) whether kubeconfig's identity may do it;
// a supplement to the real calls.
func canIAs(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, _ := kubectlWith(t, kubeconfig, append([]string{"auth", "can-i"}, args...)...) // exit 1 means "no"
	return strings.TrimSpace(out)
}

// noForbiddenRequests fails when user got a 403 since mark: the shipped role lacks a right the
// rotator used, even if the run tolerated it.
func noForbiddenRequests(t *testing.T, mark int64, user string) []auditEvent {
	t.Helper()
	evs := requestsSince(t, mark, user)
	if len(evs) == 0 {
		t.Fatalf("the audit log shows no request of %s: the run did not use the ServiceAccount", user)
	}
	for _, e := range evs {
		if e.ResponseStatus.Code == 403 {
			t.Errorf("the shipped RBAC refused a call the rotator made: %s %s %s/%s%s", e.Verb, e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name, slashSubresource(e.ObjectRef.Subresource))
		}
	}
	return evs
}

func slashSubresource(s string) string {
	if s == "" {
		return ""
	}
	return "/" + s
}
