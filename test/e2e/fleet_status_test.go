//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/doctor"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

// fleetRow is the part of a `rotator status -o json` row these tests read.
type fleetRow struct {
	Credential string   `json:"credential"`
	Cluster    string   `json:"cluster"`
	Name       string   `json:"name"`
	ID         string   `json:"id"`
	InSync     *int     `json:"namespacesInSync"`
	Namespaces *int     `json:"namespaces"`
	Problems   []string `json:"problems"`
}

// After one fleet `rotate now`, status and the doctor work across the fleet: `status --config`
// has a row per (credential, cluster), each with the credential that cluster holds, read from
// the rotator's own cluster; `doctor --cluster` diagnoses a broken pod of the member, not of
// the kubeconfig's cluster, and names the member. Once the member cannot be reached (its API
// server behind a TCP gate, closed), status still shows its state and names it and its server
// among its problems while the rotator's own cluster still shows in sync, and the doctor says
// it cannot reach it (exit 1) instead of diagnosing elsewhere.
func TestFleetStatusAndDoctorAcrossMembers(t *testing.T) {
	ctx := context.Background()
	img := rig.Images["proj-a"]
	if err := rig.CreateNamespace(ctx, stateNS, nil); err != nil {
		t.Fatal(err)
	}
	m := startMember(t, "fs")
	gate := newTCPGate(t, m.KubeURL)
	cred := fmt.Sprintf("fleet-status-%d", nsCounter.Add(1))
	label := cred
	clusters := map[string]kubernetes.Interface{"local": rig.Admin, m.Name: m.Admin}
	for name, c := range clusters {
		ns := label + "-0"
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{label: "true"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("cluster %s: %v", name, err)
		}
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, sandbox.Deployment(ns, "web", img, "harbor-pull", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fleetConfig := func(file, memberKubeconfig string) string {
		return writeFile(t, file, fmt.Sprintf(`stateNamespace: %s
clusters:
- name: %s
  kubeconfigFrom: {file: %s}
`, stateNS, m.Name, kubeconfigVia(t, memberKubeconfig, gate.url()))+
			harborCredentialYAML(cred, "1h", fmt.Sprintf("    namespaceSelector: %s\n    clusters: [local, %s]\n", label, m.Name)))
	}
	cfg := fleetConfig("config-fleet-status.yaml", m.RotatorKubeconfig)
	// The doctor's own view of the fleet: the same clusters, each reached as the doctor (the
	// rotator's identity may not list Events, which the doctor reads; docs/fleet.md).
	doctorCfg := fleetConfig("config-fleet-doctor.yaml", m.DoctorKubeconfig)

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || len(res.Reports) != 2 {
		t.Fatalf("fleet rotation: exit %d, %d reports\n%s\n%s", res.Code, len(res.Reports), res.Stdout, res.Stderr)
	}
	issued := map[string]string{}
	for _, rep := range res.Reports {
		issued[clusterOf(rep)] = rep.Issued.ID
	}
	secrets := &secretValues{}
	for _, c := range clusters {
		secrets.add(secretCredentialIn(t, c, label+"-0", "harbor-pull"))
	}

	// 1. One row per (credential, cluster), the rotator's own first, each with its own current
	// credential and its namespace in sync.
	rows, code := fleetStatus(t, secrets, "--config", cfg)
	if code != 0 {
		t.Fatalf("status of a healthy fleet: exit %d: %+v", code, rows)
	}
	if got := rowClusters(rows, cred); !slices.Equal(got, []string{"local", m.Name}) {
		t.Fatalf("status rows of %s: clusters %v, want [local %s]", cred, got, m.Name)
	}
	for _, r := range rows {
		if r.ID != issued[r.Cluster] || r.InSync == nil || *r.InSync != 1 || *r.Namespaces != 1 || len(r.Problems) > 0 {
			t.Errorf("cluster %s: id %s (issued %s), in sync %v of %v, problems %v", r.Cluster, r.ID, issued[r.Cluster], r.InSync, r.Namespaces, r.Problems)
		}
	}
	if rows, _ := fleetStatus(t, secrets, "--config", cfg, "--cluster", m.Name); !slices.Equal(rowClusters(rows, cred), []string{m.Name}) {
		t.Errorf("status --cluster %s: %+v", m.Name, rows)
	}
	// Without the config: the member's state Secret is a row of that cluster.
	rows, _ = fleetStatus(t, secrets, "-n", stateNS, "--cluster", m.Name)
	if len(rows) != 1 || rows[0].Credential != cred || rows[0].Cluster != m.Name || rows[0].ID != issued[m.Name] {
		t.Errorf("status -n %s --cluster %s (no config): %+v", stateNS, m.Name, rows)
	}

	// 2. The doctor in the member: a pod there without the pull secret (a namespace the
	// credential does not target), which the kubeconfig's cluster does not have.
	broken := label + "-broken"
	if _, err := m.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: broken}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Admin.AppsV1().Deployments(broken).Create(ctx, sandbox.Deployment(broken, "web", img, "", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "the member's pod fails to pull", func() (bool, string) { return pullFailing(m.Admin, broken) })
	doc := runDoctor(t, secrets, "--config", doctorCfg, "--cluster", m.Name, "-n", broken, "deployment/web", "-o", "json")
	if doc.Code != 1 || doc.Report.Cluster != m.Name {
		t.Fatalf("doctor --cluster %s: exit %d, cluster %q\n%s\n%s", m.Name, doc.Code, doc.Report.Cluster, doc.Stdout, doc.Stderr)
	}
	if causes := failingCauses(doc.Report); len(causes) != 1 || causes[0].Cause.Code != doctor.NoPullSecret {
		t.Fatalf("doctor --cluster %s: causes %+v, want one %s", m.Name, causes, doctor.NoPullSecret)
	}
	if text := runDoctor(t, secrets, "--config", doctorCfg, "--cluster", m.Name, "-n", broken, "deployment/web"); !strings.Contains(text.Stdout, "in cluster "+m.Name) {
		t.Errorf("the doctor's text does not name the member:\n%s", text.Stdout)
	}
	if bad := runDoctor(t, secrets, "--config", doctorCfg, "--cluster", m.Name, "-n", broken, "deployment/nope"); bad.Code != 2 || !strings.Contains(bad.Stderr, "cluster "+m.Name) {
		t.Errorf("doctor --cluster %s of a workload the member lacks: exit %d, want 2 naming the member\n%s", m.Name, bad.Code, bad.Stderr)
	}

	// 3. The member cut off: its rows keep the state (in the rotator's own cluster) and say why
	// nothing more is known; the rotator's own cluster still shows in sync.
	gate.cut()
	rows, code = fleetStatus(t, secrets, "--config", cfg)
	if code != 1 || !slices.Equal(rowClusters(rows, cred), []string{"local", m.Name}) {
		t.Fatalf("status with %s cut off: exit %d, rows %+v", m.Name, code, rows)
	}
	for _, r := range rows {
		switch {
		case r.Cluster == "local" && (r.ID != issued["local"] || r.InSync == nil || *r.InSync != 1 || len(r.Problems) > 0):
			t.Errorf("the rotator's own cluster with %s cut off: %+v", m.Name, r)
		case r.Cluster == m.Name && (r.ID != issued[m.Name] || r.InSync != nil || !strings.Contains(strings.Join(r.Problems, "\n"), "cluster "+m.Name+": cannot reach its API server at "+gate.url())):
			t.Errorf("the cut-off member's row: %+v", r)
		}
	}
	doc = runDoctor(t, secrets, "--config", doctorCfg, "--cluster", m.Name, "-n", broken)
	if doc.Code != 1 || !strings.Contains(doc.Stderr, "cluster "+m.Name+": cannot reach its API server at "+gate.url()) || !strings.Contains(doc.Stderr, "kubeconfigFrom or kubeconfigSecret") {
		t.Errorf("doctor --cluster %s cut off: exit %d\n%s\n%s", m.Name, doc.Code, doc.Stdout, doc.Stderr)
	}
}

// fleetStatus runs `rotator status -o json args...` as the rotator, checks that no secret
// value was printed, and returns its rows and exit status.
func fleetStatus(t *testing.T, secrets *secretValues, args ...string) ([]fleetRow, int) {
	t.Helper()
	res := runRotator(t, rig.RotatorKubeconfig, append([]string{"status", "-o", "json"}, args...)...)
	secrets.check(t, "rotator status", res.Stdout+res.Stderr)
	var doc struct{ Credentials []fleetRow }
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil {
		t.Fatalf("status %v: %v\n%s\n%s", args, err, res.Stdout, res.Stderr)
	}
	return doc.Credentials, res.Code
}

// rowClusters are the clusters of cred's rows, in their order.
func rowClusters(rows []fleetRow, cred string) []string {
	var out []string
	for _, r := range rows {
		if r.Credential == cred {
			out = append(out, r.Cluster)
		}
	}
	return out
}

// pullFailing reports whether a pod of ns (in the cluster of c) is failing to pull its image.
func pullFailing(c kubernetes.Interface, ns string) (bool, string) {
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("%d pods, none failing to pull yet", len(pods.Items))
}
