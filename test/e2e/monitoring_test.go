//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// The Prometheus Operator CRDs the shipped monitoring objects need, from the module pinned in
// hack/tools/prometheus-operator.
var monitoringCRDs = []string{"servicemonitors", "prometheusrules"}

// The chart's ServiceMonitor and PrometheusRule (both enabled) and deploy/monitoring's
// PrometheusRule pass the real API server's validation against the Prometheus Operator's CRD
// schemas (server-side dry run, strict field validation), and their alerts parse as Prometheus
// parses them; a wrong field and a broken expr are refused, so neither check is vacuous.
func TestMonitoringObjectsMatchTheOperatorCRDs(t *testing.T) {
	ctx := context.Background()
	installMonitoringCRDs(t)
	ns := namespaces(t, "mon", 1)[0]
	if err := rig.CreateNamespace(ctx, stateNS, nil); err != nil { // deploy/monitoring's namespace
		t.Fatal(err)
	}

	values := deployDir(t, "charts/rotator/testdata/monitoring.values.yaml")
	rendered := helmCmd(t, "template", "rotator-mon", deployDir(t, "charts/rotator"), "-n", ns, "-f", values,
		"--show-only", "templates/servicemonitor.yaml", "--show-only", "templates/prometheusrule.yaml")
	objs := decodeObjects(t, rendered)
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetKind()] = true
	}
	if !kinds["ServiceMonitor"] || !kinds["PrometheusRule"] || len(objs) != 2 {
		t.Fatalf("the chart with both enabled renders %v, want a ServiceMonitor and a PrometheusRule", kinds)
	}
	chartFile := writeFile(t, "monitoring-chart.yaml", rendered)
	kustomizeFile := deployDir(t, "deploy/monitoring/prometheusrule.yaml")
	kustomizeText, err := os.ReadFile(kustomizeFile)
	if err != nil {
		t.Fatal(err)
	}
	for file, objs := range map[string][]*unstructured.Unstructured{chartFile: objs, kustomizeFile: decodeObjects(t, string(kustomizeText))} {
		out, err := kubectlAdmin(t, "apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=rotator-e2e", "-f", file)
		if err != nil {
			t.Fatalf("%s: refused by the API server with the Prometheus Operator CRDs: %v\n%s", file, err, out)
		}
		serverDryRunApplied(t, out, objs)
	}

	// Every alert's expr parses as PromQL, and its templates as Prometheus's (model/rulefmt, as
	// Prometheus loads a rules file), in both; a broken expr is refused (the control).
	if out, err := promrules(t, chartFile, kustomizeFile); err != nil || strings.Count(out, ": 6 rules OK") != 2 {
		t.Fatalf("promrules of the shipped alerts: %v\n%s", err, out)
	}
	brokenExpr := strings.Replace(string(kustomizeText), "(rotator_credential_failing) == 1", "(rotator_credential_failing == 1", 1)
	if out, err := promrules(t, writeFile(t, "broken-expr.yaml", brokenExpr)); err == nil || !strings.Contains(out, "parse error") {
		t.Errorf("promrules accepted an unclosed parenthesis (%v):\n%s", err, out)
	}

	// Control: a field of the wrong type, and an unknown field, are refused (the schemas are
	// really enforced, not preserved as unknown fields).
	for _, c := range []struct{ what, broken, field string }{
		{"an interval that is no duration", strings.Replace(rendered, "interval: 30s", "interval: thirty-seconds", 1), "interval"},
		{"an unknown field of a rule", strings.Replace(rendered, "    expr: ", "    expression: ", 1), "expression"},
	} {
		if c.broken == rendered {
			t.Fatalf("%s: the control's replacement matched nothing in:\n%s", c.what, rendered)
		}
		out, err := kubectlAdmin(t, "apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=rotator-e2e", "-f", writeFile(t, "broken.yaml", c.broken))
		if err == nil || !strings.Contains(out, c.field) {
			t.Errorf("%s: not refused for its field %s (%v):\n%s", c.what, c.field, err, out)
		}
	}
}

// installMonitoringCRDs installs the pinned ServiceMonitor and PrometheusRule CRDs into the
// sandbox (cluster-scoped: removed when the test ends, and no other test uses their group).
func installMonitoringCRDs(t *testing.T) {
	t.Helper()
	dir := prometheusOperatorModule(t)
	for _, name := range monitoringCRDs {
		file := filepath.Join(dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+name+".yaml")
		// Server-side: the CRDs are too large for client-side apply's last-applied annotation.
		if out, err := kubectlAdmin(t, "apply", "--server-side", "--field-manager=rotator-e2e", "-f", file); err != nil {
			t.Fatalf("install CRD %s: %v\n%s", name, err, out)
		}
		crd := name + ".monitoring.coreos.com"
		t.Cleanup(func() {
			if out, err := kubectlAdmin(t, "delete", "crd", crd, "--wait=false"); err != nil {
				t.Logf("delete CRD %s: %v\n%s", crd, err, out)
			}
		})
		if out, err := kubectlAdmin(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd); err != nil {
			t.Fatalf("CRD %s not established: %v\n%s", crd, err, out)
		}
	}
}

// prometheusOperatorModule returns the directory of the Prometheus Operator module pinned in
// hack/tools/prometheus-operator, fetched into the module cache by `go mod download` and
// checked against that module's go.sum (no network when the cache has it).
func prometheusOperatorModule(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/prometheus-operator/prometheus-operator")
	cmd.Dir = deployDir(t, "hack/tools/prometheus-operator")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out.Bytes(), &mod); err != nil || jerr != nil || mod.Error != "" || mod.Dir == "" {
		t.Fatalf("go mod download of the pinned Prometheus Operator: %v %v %s\n%s%s", err, jerr, mod.Error, out.String(), errb.String())
	}
	return mod.Dir
}

// promrules runs the pinned rule checker (hack/tools/promrules) on files; combined output.
func promrules(t *testing.T, files ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(sandbox.ToolsDir(), "promrules")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("promrules not found in %s: build it with 'make helm' (hack/build-tools.sh promrules)", sandbox.ToolsDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, files...).CombinedOutput()
	return string(out), err
}
