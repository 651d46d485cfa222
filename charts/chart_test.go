//go:build integration

// Package charts tests the Helm chart with the pinned helm (hack/build-tools.sh helm, which
// make test runs): it lints, renders as the golden files say, and grants what deploy/ grants.
// Tagged integration because it needs a built tool, as the sandbox's tests do: go test ./...
// builds nothing.
package charts

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ from helm template")

const chartDir = "rotator"

// run runs a tool and returns its stdout; a failure quotes stderr.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// helmBin is the pinned helm; a missing one fails the test and says how to build it.
func helmBin(t *testing.T) string {
	t.Helper()
	p := filepath.Join(sandbox.ToolsDir(), "helm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm not found in %s: build it with 'make helm' (hack/build-tools.sh helm)", sandbox.ToolsDir())
	}
	return p
}

// template renders the chart as release rotator in rotator-system, with the values files.
func template(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, helmBin(t), append([]string{"template", "rotator", chartDir, "--namespace", "rotator-system"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decode splits a multi-document YAML stream into objects.
func decode(t *testing.T, text string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

func valuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "testdata", "*.values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.values.yaml: %v", err)
	}
	return files
}

// helm lint --strict passes with the chart's values and with every test values file.
func TestHelmLint(t *testing.T) {
	for _, f := range append([]string{""}, valuesFiles(t)...) {
		args := []string{"lint", "--strict", chartDir}
		if f != "" {
			args = append(args, "-f", f)
		}
		if out, err := run(t, helmBin(t), args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// helm template with each testdata/<name>.values.yaml renders testdata/<name>.golden.yaml
// (go test -tags integration ./charts/ -update rewrites them: review the diff).
func TestHelmTemplateGolden(t *testing.T) {
	for _, f := range valuesFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".values.yaml")
		t.Run(name, func(t *testing.T) {
			got := template(t, "-f", f)
			golden := filepath.Join(chartDir, "testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil { //nolint:gosec // a file of the repository, as readable as its others
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -tags integration ./charts/ -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("helm template -f %s differs from %s (rerun with -update and review the diff):\n%s", f, golden, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first line that differs, with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			line := func(l []string) string {
				if i < len(l) {
					return l[i]
				}
				return "<end>"
			}
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, line(w), line(g))
		}
	}
	return ""
}

// The chart's PrometheusRule carries exactly the alerts of deploy/monitoring/prometheusrule.yaml
// (whose metrics internal/metrics/rules_test.go checks): one set of rules, two ways to ship it.
func TestChartRulesMatchKustomize(t *testing.T) {
	var chart *unstructured.Unstructured
	for _, o := range decode(t, template(t, "--set", "prometheusRule.enabled=true")) {
		if o.GetKind() == "PrometheusRule" {
			chart = o
		}
	}
	if chart == nil {
		t.Fatal("prometheusRule.enabled=true renders no PrometheusRule")
	}
	b, err := os.ReadFile(filepath.Join("..", "deploy", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kust map[string]any
	if err := yaml.Unmarshal(b, &kust); err != nil {
		t.Fatal(err)
	}
	want, _, _ := unstructured.NestedSlice(kust, "spec", "groups")
	got, _, _ := unstructured.NestedSlice(chart.Object, "spec", "groups")
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		gb, _ := yaml.Marshal(got)
		t.Errorf("the chart's rules (files/prometheus-rules.yaml) differ from deploy/monitoring/prometheusrule.yaml's:\n%s", gb)
	}
}

// With release name rotator, the chart grants exactly what kubectl kustomize renders of
// deploy/base and deploy/namespaced: the same rules, resourceNames and bindings, object by object.
func TestChartRBACMatchesKustomize(t *testing.T) {
	kubectl, err := sandbox.Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, variant string }{{"deploy/base", "clusterWide"}, {"deploy/namespaced", "namespaced"}} {
		t.Run(c.variant, func(t *testing.T) {
			out, err := run(t, kubectl, "kustomize", filepath.Join("..", c.dir))
			if err != nil {
				t.Fatal(err)
			}
			want := rbacObjects(t, decode(t, out))
			got := rbacObjects(t, decode(t, template(t, "--set", "rbac.variant="+c.variant)))
			for k, w := range want {
				g, ok := got[k]
				if !ok {
					t.Errorf("the chart has no %s (%s has)", k, c.dir)
					continue
				}
				if !reflect.DeepEqual(g, w) {
					gb, _ := yaml.Marshal(g)
					wb, _ := yaml.Marshal(w)
					t.Errorf("%s: the chart grants\n%s\n%s grants\n%s", k, gb, c.dir, wb)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("the chart has %s, which %s has not", k, c.dir)
				}
			}
		})
	}
}

// rbacObjects keys the RBAC objects by kind/namespace/name, keeping what grants: rules (in a
// canonical order: the order of rules grants nothing), roleRef and subjects.
func rbacObjects(t *testing.T, objs []*unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding":
		default:
			continue
		}
		m := map[string]any{}
		for _, f := range []string{"roleRef", "subjects"} {
			if v, ok := o.Object[f]; ok {
				m[f] = v
			}
		}
		if rules, ok := o.Object["rules"].([]any); ok {
			keyed := make([]string, 0, len(rules))
			for _, r := range rules {
				b, err := yaml.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				keyed = append(keyed, string(b))
			}
			slices.Sort(keyed)
			m["rules"] = keyed
		}
		out[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = m
	}
	return out
}

// Values that would weaken the deploy fail the render, naming the value: no Secret name would
// give resourceNames: [] (every Secret of the cluster), a tag latest is no pin, another
// stateNamespace would leave the state without rights.
func TestHelmTemplateRefuses(t *testing.T) {
	// A values file, not --set: --set of a list element replaces the whole list.
	noNamespaces := "config:\n  credentials:\n  - name: a\n    targets: {secretName: a-pull, namespaceSelector: {matchLabels: {x: y}}}\nrbac: {variant: namespaced}\n"
	for _, c := range []struct{ values, want string }{
		{"config: {credentials: []}", "no Secret name to grant"},
		{"config:\n  credentials:\n  - name: a\n    targets: {namespaces: [a]}\n", "no Secret name to grant"},
		{noNamespaces, "no target namespace"},
		{"image: {tag: latest}", "not latest"},
		{"config: {stateNamespace: elsewhere}", "leave it unset"},
		{"rbac: {variant: open}", "clusterWide or namespaced"},
	} {
		f := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(f, []byte(c.values), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, helmBin(t), "template", "rotator", chartDir, "--namespace", "rotator-system", "-f", f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("values %q: want a failure saying %q, got %v\n%s", c.values, c.want, err, out)
		}
	}
}
