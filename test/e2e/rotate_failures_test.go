//go:build integration

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A new credential that the registry refuses (its verify image is in a project it may not pull)
// leaves the target namespaces exactly as they were and no new robot behind. A missing tag is
// no such verdict: TestMissingVerifyImageIsNoCredentialFailure.
func TestVerificationFailureChangesNothing(t *testing.T) {
	nss, _ := rotatedOnce(t, "verifyfail", 2)
	before := map[string]string{}
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		before[ns] = u + p
	}
	robotsBefore := len(robotsNamed("rotator-verifyfail-"))
	refused := rig.Images["proj-b"]
	cfg := rotatorConfig(t, cfgOpts{name: "verifyfail", namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{refused}})
	mark := auditMark(t)
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 1 {
		t.Fatalf("want exit 1, got %d:\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	msg := strings.Join(res.Reports[0].Errors, "\n")
	if !strings.Contains(msg, refused) || !strings.Contains(strings.ToUpper(msg), "DENIED") && !strings.Contains(strings.ToUpper(msg), "UNAUTHORIZED") {
		t.Fatalf("the error must name the image and the registry's answer: %s", msg)
	}
	for _, w := range writes(requestsSince(t, mark, "rotator")) {
		if !strings.Contains(w, " "+stateNS+"/") {
			t.Fatalf("a failed verification wrote outside the rotator's state: %s", w)
		}
	}
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if before[ns] != u+p {
			t.Fatalf("secret in %s changed", ns)
		}
	}
	if n := len(robotsNamed("rotator-verifyfail-")); n != robotsBefore {
		t.Fatalf("robots before %d, after %d: the unverified robot was left behind", robotsBefore, n)
	}
}

// A verify image whose tag is gone (404) proves the credential as well as a pull: the rotation
// succeeds and says so, instead of failing at every run on one stale image.
func TestMissingVerifyImageIsNoCredentialFailure(t *testing.T) {
	nss, _ := rotatedOnce(t, "verify404", 1)
	missing := rig.RegistryHost + "/proj-a/does-not-exist:1.0"
	cfg := rotatorConfig(t, cfgOpts{name: "verify404", namespaces: nss, projects: []string{"proj-a"}, verifyImages: []string{missing}})
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || res.Reports[0].Issued == nil {
		t.Fatalf("a missing tag must not fail the rotation: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	if w := strings.Join(res.Reports[0].Warnings, "\n"); !strings.Contains(w, missing) {
		t.Fatalf("the report must warn about the missing image: %v", res.Reports[0].Warnings)
	}
	u, p := secretCredential(t, nss[0], "harbor-pull")
	if err := pull(rig.Images["proj-a"], u, p); err != nil {
		t.Fatalf("the new credential does not pull: %v", err)
	}
}

// RBAC forbids one namespace: the run writes the others, exits non-zero naming the namespace,
// every namespace keeps a working secret (old or new), and the next run completes.
func TestPartialFailureLeavesWorkingSecretsAndNextRunCompletes(t *testing.T) {
	nss, _ := rotatedOnce(t, "partial", 3)
	cfg := rotatorConfig(t, cfgOpts{name: "partial", namespaces: nss, projects: []string{"proj-a"}, revokeAfter: "0s"})
	oldUser, oldPass := secretCredential(t, nss[0], "harbor-pull")

	// An identity that may write secrets in nss[0], nss[1] and its state namespace, not nss[2].
	kubeconfig, user := limitedRotator(t, "partial", []string{nss[0], nss[1], stateNS})
	res := runRotator(t, kubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 1 {
		t.Fatalf("want exit 1, got %d:\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	if msg := strings.Join(res.Reports[0].Errors, "\n"); !strings.Contains(msg, nss[2]) {
		t.Fatalf("the error must name namespace %s: %s", nss[2], msg)
	}
	newUser, _ := secretCredential(t, nss[0], "harbor-pull")
	if newUser == oldUser {
		t.Fatalf("allowed namespaces did not get the new credential")
	}
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if err := pull(rig.Images["proj-a"], u, p); err != nil {
			t.Fatalf("namespace %s has no working secret after a partial failure: %v", ns, err)
		}
	}
	if err := pull(rig.Images["proj-a"], oldUser, oldPass); err != nil {
		t.Fatalf("the old robot was revoked while a namespace still uses it: %v", err)
	}

	// One namespace does not hold promotion back: the new credential is current, and the next
	// run that is due repairs the namespace with it, then revokes the old one.
	grant(t, user, nss[2])
	res = runRotator(t, kubeconfig, "rotate", "now", "--if-due", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("the next run must complete:\n%s\n%s", res.Stdout, res.Stderr)
	}
	if res.Reports[0].Issued != nil {
		t.Fatalf("the next run must repair with the promoted credential, not issue another: %+v", res.Reports[0].Issued)
	}
	for _, ns := range nss {
		if u, _ := secretCredential(t, ns, "harbor-pull"); u != newUser {
			t.Fatalf("namespace %s not completed", ns)
		}
	}
	eventually(t, 10*time.Second, "old robot revoked", func() (bool, string) {
		err := pull(rig.Images["proj-a"], oldUser, oldPass)
		return err != nil, "old robot still pulls"
	})
}

// limitedRotator creates a ServiceAccount with the rotator's read rights cluster-wide but
// secret writes only in the given namespaces, and returns a kubeconfig with its token.
func limitedRotator(t *testing.T, name string, writable []string) (kubeconfig, user string) {
	t.Helper()
	ctx := context.Background()
	c := rig.Admin
	saName := "rotator-" + name
	if _, err := c.CoreV1().ServiceAccounts(stateNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: saName}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user = fmt.Sprintf("system:serviceaccount:%s:%s", stateNS, saName)
	read := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: saName + "-read"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces", "secrets"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "patch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets"}, Verbs: []string{"get", "list", "watch", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete"}},
		},
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, read, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: saName, Namespace: stateNS}}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: saName + "-read"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: read.Name},
		Subjects:   subject,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	write := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: saName + "-write"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "update", "patch"}},
			// The run lock, in the state namespace (bound there like the secret writes).
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		},
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, write, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range writable {
		grant(t, user, ns)
	}
	tok, err := c.CoreV1().ServiceAccounts(stateNS).CreateToken(ctx, saName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	content := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster: {server: %s, certificate-authority: %s}\nusers:\n- name: u\n  user: {token: %s}\ncontexts:\n- name: c\n  context: {cluster: s, user: u}\ncurrent-context: c\n",
		rig.KubeURL, rig.CAFile(), tok.Status.Token)
	if err := os.WriteFile(kubeconfig, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig, user
}

// grant lets the limited identity write secrets in ns.
func grant(t *testing.T, user, ns string) {
	t.Helper()
	_, saName, _ := strings.Cut(strings.TrimPrefix(user, "system:serviceaccount:"), ":")
	_, err := rig.Admin.RbacV1().RoleBindings(ns).Create(context.Background(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: saName + "-write"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: saName + "-write"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: saName, Namespace: stateNS}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
