//go:build integration

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
)

const stateNS = "rotator-system"

type cfgOpts struct {
	name         string
	namespaces   []string
	projects     []string
	revokeAfter  string
	verifyImages []string
	schedule     string
	// policy is restart.policy ("": the default, IfNeeded).
	policy string
}

func rotatorConfig(t *testing.T, o cfgOpts) string {
	t.Helper()
	if err := rig.CreateNamespace(context.Background(), stateNS, nil); err != nil {
		t.Fatal(err)
	}
	if o.projects == nil {
		o.projects = []string{"proj-a", "proj-b"}
	}
	if o.revokeAfter == "" {
		o.revokeAfter = "1h"
	}
	if o.schedule != "" {
		// The tests' schedules fire every few seconds: say it is meant.
		o.revokeAfter += fmt.Sprintf("\n  schedule: %q\n  allowFrequentRotation: true", o.schedule)
	}
	verify := ""
	if o.verifyImages != nil {
		verify = fmt.Sprintf("  verifyImages: [%s]\n", strings.Join(o.verifyImages, ", "))
	}
	return writeFile(t, "config.yaml", restartPolicy(o.policy, fmt.Sprintf(`stateNamespace: %s
credentials:
- name: %s
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [%s]
  lifetime: 30d
  revokeAfter: %s
%s  targets:
    secretName: harbor-pull
    namespaces: [%s]
    serviceAccounts: [default]
  restart:
    timeout: 90s
`, stateNS, o.name, rig.HarborURL, rig.HarborUsername, strings.Join(o.projects, ", "), o.revokeAfter, verify, strings.Join(o.namespaces, ", "))))
}

// robotsNamed returns the Harbor double's robots whose name contains s.
func robotsNamed(s string) []harbordouble.Robot {
	var out []harbordouble.Robot
	for _, r := range rig.Harbor.Robots() {
		if strings.Contains(r.Name, s) {
			out = append(out, r)
		}
	}
	return out
}

// The whole job: 3 namespaces, 2 Deployments, a StatefulSet and a DaemonSet, some naming the
// secret and some getting it through their ServiceAccount, and one unrelated Deployment.
func TestRotateNowEndToEnd(t *testing.T) {
	ctx := context.Background()
	nss := namespaces(t, "rot-e2e", 3)
	a, b := rig.Images["proj-a"], rig.Images["proj-b"]
	objs := []any{
		sandbox.Deployment(nss[0], "web", a, "harbor-pull", 2), // names the secret
		sandbox.Deployment(nss[1], "api", b, "", 1),            // through ServiceAccount default
		sandbox.StatefulSet(nss[1], "db", a, ""),               // through ServiceAccount default
		sandbox.DaemonSet(nss[2], "agent", b, "harbor-pull"),   // names the secret
		sandbox.Deployment(nss[2], "unrelated", b, "other", 1), // another pull secret: not ours
	}
	for _, o := range objs {
		if err := rig.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// ServiceAccount default of nss[1] already has another pull secret: it must be kept.
	eventually(t, 30*time.Second, "default serviceaccount", func() (bool, string) {
		_, err := rig.Admin.CoreV1().ServiceAccounts(nss[1]).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	sa, _ := rig.Admin.CoreV1().ServiceAccounts(nss[1]).Get(ctx, "default", metav1.GetOptions{})
	sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "keep-me"}}
	if _, err := rig.Admin.CoreV1().ServiceAccounts(nss[1]).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	unrelatedBefore := getDeployment(t, nss[2], "unrelated").Spec.Template.Annotations

	// Policy Always: this test is about restarting every kind of dependent (IfNeeded would
	// restart web and agent only if their pods had reported the pull failure yet).
	cfg := rotatorConfig(t, cfgOpts{name: "e2e", namespaces: nss, revokeAfter: "4s", policy: "Always"})
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("rotate now failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	rep := res.Reports[0]
	first := rep.Issued
	if first == nil {
		t.Fatalf("no credential issued: %+v", rep)
	}

	// The robot: exactly pull on the configured projects, a system robot for two projects.
	robots := robotsNamed("rotator-e2e-")
	if len(robots) != 1 {
		t.Fatalf("want exactly one robot, got %+v", robots)
	}
	r := robots[0]
	if r.Level != "system" || len(r.Permissions) != 2 {
		t.Fatalf("robot level/permissions: %+v", r)
	}
	for _, p := range r.Permissions {
		if p.Kind != "project" || len(p.Access) != 1 || p.Access[0].Resource != "repository" || p.Access[0].Action != "pull" {
			t.Fatalf("robot permission is not exactly repository:pull: %+v", p)
		}
	}
	if got := []string{r.Permissions[0].Namespace, r.Permissions[1].Namespace}; !slices.Contains(got, "proj-a") || !slices.Contains(got, "proj-b") {
		t.Fatalf("robot projects %v", got)
	}

	// Secrets: right type, exactly one key, canonical auths key, consistent auth field.
	for _, ns := range nss {
		s, err := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "harbor-pull", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Type != corev1.SecretTypeDockerConfigJson || len(s.Data) != 1 {
			t.Fatalf("secret %s: type %s keys %d", ns, s.Type, len(s.Data))
		}
		cfg, err := pullsecret.ParseSecret(s)
		if err != nil {
			t.Fatalf("secret %s does not parse: %v", ns, err)
		}
		if keys := cfg.Keys(); len(keys) != 1 || keys[0] != rig.RegistryHost {
			t.Fatalf("secret %s auths keys %v, want [%s]", ns, keys, rig.RegistryHost)
		}
		if s.Annotations["rotator.dev/credential-id"] != first.ID || s.Annotations["rotator.dev/fingerprint"] == "" {
			t.Fatalf("secret %s annotations %v", ns, s.Annotations)
		}
		for k, v := range s.Annotations {
			if strings.Contains(v, secretPassword(t, ns)) {
				t.Fatalf("annotation %s carries the password", k)
			}
		}
	}
	// ServiceAccounts bound once, others kept.
	for _, ns := range nss {
		sa, err := rig.Admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ref := range sa.ImagePullSecrets {
			if ref.Name == "harbor-pull" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("serviceaccount %s/default has harbor-pull %d times: %v", ns, n, sa.ImagePullSecrets)
		}
	}
	sa, _ = rig.Admin.CoreV1().ServiceAccounts(nss[1]).Get(ctx, "default", metav1.GetOptions{})
	if sa.ImagePullSecrets[0].Name != "keep-me" {
		t.Fatalf("existing pull secret of the serviceaccount lost: %v", sa.ImagePullSecrets)
	}
	// Dependent workloads rolled out and Available through real pulls; unrelated untouched.
	waitAvailable(t, nss[0], "web")
	waitAvailable(t, nss[1], "api")
	eventually(t, 60*time.Second, "statefulset db ready", func() (bool, string) {
		s, err := rig.Admin.AppsV1().StatefulSets(nss[1]).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return s.Status.ReadyReplicas == 1 && s.Status.UpdateRevision == s.Status.CurrentRevision, fmt.Sprintf("%+v", s.Status)
	})
	eventually(t, 60*time.Second, "daemonset agent available", func() (bool, string) {
		d, err := rig.Admin.AppsV1().DaemonSets(nss[2]).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.DesiredNumberScheduled > 0 && d.Status.NumberAvailable == d.Status.DesiredNumberScheduled, fmt.Sprintf("%+v", d.Status)
	})
	restarted := map[string]bool{}
	for _, w := range rep.Workloads {
		restarted[w.Namespace+"/"+w.Name] = w.Action == "restarted"
	}
	for _, w := range []string{nss[0] + "/web", nss[1] + "/api", nss[1] + "/db", nss[2] + "/agent"} {
		if !restarted[w] {
			t.Errorf("workload %s not restarted: %+v", w, rep.Workloads)
		}
	}
	if _, ok := restarted[nss[2]+"/unrelated"]; ok {
		t.Errorf("unrelated deployment was treated as dependent")
	}
	if got := getDeployment(t, nss[2], "unrelated").Spec.Template.Annotations; fmt.Sprint(got) != fmt.Sprint(unrelatedBefore) {
		t.Errorf("unrelated deployment's template changed: %v", got)
	}

	// What happened is visible to the cluster's users as Events on the objects touched.
	wantEvent := func(ns, kind, name, reason string) {
		t.Helper()
		evs, err := rig.Admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Reason == reason {
				return
			}
		}
		t.Errorf("no %s event on %s %s/%s", reason, kind, ns, name)
	}
	wantEvent(nss[0], "Secret", "harbor-pull", "CredentialRotated")
	wantEvent(nss[0], "Deployment", "web", "RestartTriggered")
	wantEvent(nss[1], "StatefulSet", "db", "RestartTriggered")

	// A second rotation: a new robot; the first one stays until its grace period has ended.
	firstUser, firstPass := secretCredential(t, nss[0], "harbor-pull")
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("second rotate failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	second := res.Reports[0].Issued
	if second == nil || second.ID == first.ID {
		t.Fatalf("second run issued no new robot: %+v", res.Reports[0])
	}
	if err := pull(a, firstUser, firstPass); err != nil {
		t.Fatalf("old robot must keep working during its grace period: %v", err)
	}
	time.Sleep(4 * time.Second)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("if-due run failed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	revoked := res.Reports[0].Revoked
	if len(revoked) != 1 || revoked[0].ID != first.ID {
		t.Fatalf("want the first robot revoked after the grace period, got %+v", revoked)
	}
	if err := pull(a, firstUser, firstPass); err == nil {
		t.Fatalf("the revoked robot can still pull")
	}
	wantEvent(stateNS, "Secret", "rotator-state-e2e", "CredentialRevoked")
	if robots := robotsNamed("rotator-e2e-"); len(robots) != 1 {
		t.Fatalf("want only the current robot left, got %d", len(robots))
	}
	u, p := secretCredential(t, nss[2], "harbor-pull")
	if err := pull(b, u, p); err != nil {
		t.Fatalf("current credential does not pull: %v", err)
	}
}

func secretPassword(t *testing.T, ns string) string {
	_, p := secretCredential(t, ns, "harbor-pull")
	return p
}
