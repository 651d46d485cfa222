//go:build integration

package e2e

// Helpers of the "never wedge, never strand" tests (issue 13, wedge_test.go): acting at the
// Harbor double behind the rotator's back, as a Harbor admin would, and reading what the rotator
// says about a credential.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
)

// harborAPI sends one request to the Harbor double's API as its admin (the way an admin's
// script or Harbor's UI would) and returns the answer's body; any status but 200 fails the test.
func harborAPI(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, rig.HarborURL+"/api/v2.0"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(rig.HarborUsername, rig.HarborPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("harbor %s %s: %s: %s", method, path, resp.Status, out)
	}
	return out
}

// robotByName is the Harbor double's robot with this full name ("robot$rotator-...").
func robotByName(t *testing.T, fullName string) harbordouble.Robot {
	t.Helper()
	for _, r := range rig.Harbor.Robots() {
		if r.Name == fullName {
			return r
		}
	}
	t.Fatalf("no robot %q at the Harbor double", fullName)
	return harbordouble.Robot{}
}

func robotExists(fullName string) bool {
	for _, r := range rig.Harbor.Robots() {
		if r.Name == fullName {
			return true
		}
	}
	return false
}

// deleteRobotAtHarbor deletes a robot behind the rotator's back (an admin cleaning up).
func deleteRobotAtHarbor(t *testing.T, fullName string) {
	t.Helper()
	r := robotByName(t, fullName)
	harborAPI(t, http.MethodDelete, fmt.Sprintf("/robots/%d", r.ID), nil)
	if robotExists(fullName) {
		t.Fatalf("robot %s still exists after its deletion", fullName)
	}
}

// disableRobotAtHarbor disables a robot behind the rotator's back: GET it, PUT it back with
// disable set, as Harbor's UI does.
func disableRobotAtHarbor(t *testing.T, fullName string) {
	t.Helper()
	r := robotByName(t, fullName)
	var m models.Robot
	if err := json.Unmarshal(harborAPI(t, http.MethodGet, fmt.Sprintf("/robots/%d", r.ID), nil), &m); err != nil {
		t.Fatal(err)
	}
	m.Disable = true
	harborAPI(t, http.MethodPut, fmt.Sprintf("/robots/%d", r.ID), &m)
	if !robotByName(t, fullName).Disabled {
		t.Fatalf("robot %s not disabled", fullName)
	}
}

// mustNotPull asserts that a credential no longer authenticates (so the test's premise holds).
func mustNotPull(t *testing.T, image, user, pass, why string) {
	t.Helper()
	if err := pull(image, user, pass); err == nil {
		t.Fatalf("%s: credential %s still pulls", why, user)
	}
}

// wedgeStatus is the part of `rotator status -o json` the tests read.
type wedgeStatus struct {
	Credential string `json:"credential"`
	Name       string `json:"name"`
	ID         string `json:"id"`
	Pending    string `json:"pending"`
	LastResult string `json:"lastResult"`
}

// rotatorStatus returns the status row of credential cred.
func rotatorStatus(t *testing.T, kubeconfig, cfg, cred string) wedgeStatus {
	t.Helper()
	res := runRotator(t, kubeconfig, "status", "--config", cfg, "-o", "json")
	var doc struct {
		Credentials []wedgeStatus `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil {
		t.Fatalf("rotator status -o json printed no JSON (%v):\n%s\n%s", err, res.Stdout, res.Stderr)
	}
	for _, r := range doc.Credentials {
		if r.Credential == cred {
			return r
		}
	}
	t.Fatalf("rotator status has no row for %s:\n%s", cred, res.Stdout)
	return wedgeStatus{}
}

// stateJSON is the state Secret's state.json of credential cred in namespace sys, for logs.
func stateJSON(sys, cred string) string {
	s, err := rig.Admin.CoreV1().Secrets(sys).Get(context.Background(), "rotator-state-"+cred, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	return string(s.Data["state.json"])
}

// mentions reports whether text names namespace ns as a whole word (wedge-1 is not wedge-12).
func mentions(text, ns string) bool {
	return regexp.MustCompile(`(^|[^a-z0-9-])` + regexp.QuoteMeta(ns) + `($|[^a-z0-9-])`).MatchString(text)
}

// reportSummary renders a report for failure messages.
func reportSummary(rep *rotation.Report) string {
	if rep == nil {
		return "<no report>"
	}
	issued := "<none>"
	if rep.Issued != nil {
		issued = rep.Issued.Name + " (id " + rep.Issued.ID + ")"
	}
	var secrets []string
	for _, s := range rep.Secrets {
		e := ""
		if s.Error != "" {
			e = ": " + s.Error
		}
		secrets = append(secrets, s.Namespace+" "+s.Action+e)
	}
	var revoked []string
	for _, r := range rep.Revoked {
		revoked = append(revoked, r.Name+" ("+r.Reason+")")
	}
	return fmt.Sprintf("result %q decision %q issued %s revoked %v\n  secrets: %s\n  errors: %s\n  warnings: %s",
		rep.Result, rep.Decision, issued, revoked, strings.Join(secrets, "; "), strings.Join(rep.Errors, " | "), strings.Join(rep.Warnings, " | "))
}

// onlyReport is the one report of a run of one credential.
func onlyReport(t *testing.T, res rotateResult) *rotation.Report {
	t.Helper()
	if len(res.Reports) != 1 {
		t.Fatalf("want one report, got %d (exit %d):\n%s\n%s", len(res.Reports), res.Code, res.Stdout, res.Stderr)
	}
	return res.Reports[0]
}

// secretResult is the report's line for namespace ns, or nil.
func secretResult(rep *rotation.Report, ns string) *rotation.SecretResult {
	for i := range rep.Secrets {
		if rep.Secrets[i].Namespace == ns {
			return &rep.Secrets[i]
		}
	}
	return nil
}

// webDeployments creates Deployment "web" naming the pull secret in each namespace.
func webDeployments(t *testing.T, nss []string) {
	t.Helper()
	for _, ns := range nss {
		if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
			t.Fatal(err)
		}
	}
}

// assertNamespacesPull: every namespace's managed Secret holds credential user (if not ""),
// pulls with it, and Deployment web, whose pods name the secret, pulls with what it holds now:
// its pods, deleted, come back Running, which the node simulator reaches only by really pulling
// with the pod's pull secret. Under the default restart policy (IfNeeded) a rotation restarts no
// bound workload: kubelet reads the secret by name at every pull.
func assertNamespacesPull(t *testing.T, _ string, nss []string, user string) {
	t.Helper()
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if user != "" && u != user {
			t.Fatalf("namespace %s holds %s, want %s", ns, u, user)
		}
		if err := pull(rig.Images["proj-a"], u, p); err != nil {
			t.Fatalf("namespace %s: its secret (%s) does not pull: %v", ns, u, err)
		}
		assertRepulls(t, ns, "web")
	}
}

// stateNamespaceFor creates another namespace for a rotator's state (another "cluster"), with
// the rights the shipped Role gives the rotator in its own namespace, copied from stateNS where
// the sandbox granted deploy/base/role.yaml.
func stateNamespaceFor(t *testing.T, prefix string) string {
	t.Helper()
	ctx := context.Background()
	ns := namespaces(t, prefix, 1)[0]
	if err := rig.CreateNamespace(ctx, stateNS, nil); err != nil {
		t.Fatal(err)
	}
	role, err := rig.Admin.RbacV1().Roles(stateNS).Get(ctx, "rotator", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the sandbox's rotator Role in %s: %v", stateNS, err)
	}
	binding, err := rig.Admin.RbacV1().RoleBindings(stateNS).Get(ctx, "rotator-user", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the sandbox's rotator RoleBinding in %s: %v", stateNS, err)
	}
	if _, err := rig.Admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Rules: role.Rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.Admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: binding.Name}, RoleRef: binding.RoleRef, Subjects: binding.Subjects,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// wedgeConfig is rotatorConfig with the state namespace and the target list free: namespaces may
// name one that does not exist.
func wedgeConfig(t *testing.T, name, sys string, nss []string, revokeAfter string) string {
	t.Helper()
	return writeFile(t, "config-"+name+"-"+sys+".yaml", "stateNamespace: "+sys+"\n"+
		harborCredentialYAML(name, revokeAfter, "    namespaces: ["+strings.Join(nss, ", ")+"]\n"))
}

// harborCredentialYAML is the credentials section of the tests' configs: one Harbor credential
// name on the sandbox's proj-a, its Secret harbor-pull bound to ServiceAccount default, and
// targets (lines indented under targets:) choosing where.
func harborCredentialYAML(name, revokeAfter, targets string) string {
	return fmt.Sprintf(`credentials:
- name: %s
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [proj-a]
  lifetime: 30d
  revokeAfter: %s
  targets:
    secretName: harbor-pull
    serviceAccounts: [default]
%s  restart:
    timeout: 90s
`, name, rig.HarborURL, rig.HarborUsername, revokeAfter, targets)
}

// makeImmutable is a tenant marking the managed Secret of ns immutable.
func makeImmutable(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	s, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "harbor-pull", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Immutable = ptr(true)
	if _, err := rig.Admin.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// firstRotation runs the first rotation of cfg, which must succeed, checks that every namespace
// pulls with the credential it issued, and returns that credential's name.
func firstRotation(t *testing.T, cred, cfg string, nss []string) string {
	t.Helper()
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("first rotation failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	name := onlyReport(t, res).Issued.Name
	assertNamespacesPull(t, cred, nss, name)
	return name
}
