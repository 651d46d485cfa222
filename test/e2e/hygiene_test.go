//go:build integration

package e2e

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// No secret ever appears in what the rotator prints, logs, reports, records as events or
// exposes as metrics, nor in its process arguments: neither the Harbor admin password nor any
// robot secret it issued, nor their base64 "auth" form.
func TestSecretHygiene(t *testing.T) {
	nss := namespaces(t, "hyg", 2)
	for _, ns := range nss {
		if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rotatorConfig(t, cfgOpts{name: "hyg", namespaces: nss, projects: []string{"proj-a"}, revokeAfter: "0s"})
	var outputs []string
	run := func(args ...string) rotateResult {
		res := runRotator(t, rig.RotatorKubeconfig, append([]string{"-v"}, args...)...)
		outputs = append(outputs, res.Stdout, res.Stderr)
		return res
	}
	run("config", "validate", "--config", cfg)
	run("rotate", "now", "--config", cfg, "--dry-run", "-o", "json")
	run("rotate", "now", "--config", cfg)
	u1, p1 := secretCredential(t, nss[0], "harbor-pull")
	run("rotate", "now", "--config", cfg, "-o", "json")
	u2, p2 := secretCredential(t, nss[0], "harbor-pull")
	run("rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	run("status", "--config", cfg, "-o", "json")
	run("status", "--config", cfg)
	// Without the config: every state Secret of the namespace read, passwords included, and
	// none of them printed.
	run("status", "-n", stateNS, "-o", "yaml")
	run("status", "-n", stateNS)
	// A failing run: its errors must not carry secrets either.
	bad := rotatorConfig(t, cfgOpts{name: "hyg", namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{rig.RegistryHost + "/proj-a/nope:1"}})
	run("rotate", "now", "--config", bad, "-o", "json")

	// The service: its logs, metrics and process arguments.
	svc := startService(t, cfg)
	var metricsText string
	eventually(t, 30*time.Second, "metrics served", func() (bool, string) {
		resp, err := http.Get("http://" + svc.addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		metricsText = string(b)
		return strings.Contains(metricsText, "rotator_liveness_checks_total") && strings.Contains(metricsText, "rotator_namespace_reconciles_total"), "no check yet"
	})
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(svc.cmd.Process.Pid) + "/cmdline")
	outputs = append(outputs, metricsText, string(cmdline), svc.stderr.String())

	// Events in the target namespaces and the state namespace.
	for _, ns := range append(nss, stateNS) {
		evs, err := rig.Admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			outputs = append(outputs, e.Message)
		}
	}
	secrets := map[string]string{
		"harbor admin password": rig.HarborPassword,
		"first robot secret":    p1,
		"second robot secret":   p2,
		"first auth":            base64.StdEncoding.EncodeToString([]byte(u1 + ":" + p1)),
		"second auth":           base64.StdEncoding.EncodeToString([]byte(u2 + ":" + p2)),
	}
	scanned := 0
	for _, out := range outputs {
		scanned += len(out)
		for what, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				t.Fatalf("the %s appeared in the rotator's output:\n%s", what, out)
			}
		}
	}
	t.Logf("hygiene scan: %d outputs, %d bytes, %d secrets: none found", len(outputs), scanned, len(secrets))
}
