//go:build integration

package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// shippedMemoryLimit is the rotator container's memory limit in deploy/base/deployment.yaml.
const shippedMemoryLimit = 256 << 20

// A tenant with the built-in `admin` role in one target namespace, and nothing else, attacks the
// rotator from there: a foreign Secret of the managed name wearing the rotator's labels, giant
// workloads, a Deployment whose image points at another registry host (a listener of the test
// that records what it is sent), and its ServiceAccount deleted; the tenant of a second
// namespace makes the managed Secret there immutable. The other namespaces rotate, are promoted
// and the old robot is revoked as always; the foreign Secret is never written; the immutable one
// is replaced, so it holds nothing back; the rotator writes nothing outside the target
// namespaces and its own; no credential reaches the other host; the rotator's peak memory stays
// under the shipped pod's limit.
func TestTenantCannotHurtOtherNamespaces(t *testing.T) {
	const cred = "tenant"
	ctx := context.Background()
	nss := namespaces(t, cred, 4)
	victim, frozen := nss[0], nss[1]
	webDeployments(t, nss)
	cfg := wedgeConfig(t, cred, stateNS, nss, "1s")
	old := firstRotation(t, cred, cfg, nss)

	tenant := tenantClient(t, victim)
	tenantUser := "system:serviceaccount:" + victim + ":tenant"
	frozenTenant := tenantClient(t, frozen)
	frozenUser := "system:serviceaccount:" + frozen + ":tenant"
	other := newRecordingRegistry(t)
	attacks := auditMark(t)

	// 1. The managed Secret replaced by the tenant's own, wearing the rotator's labels.
	if err := tenant.CoreV1().Secrets(victim).Delete(ctx, "harbor-pull", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "harbor-pull", Labels: map[string]string{
			secretsync.LabelManagedBy: secretsync.ManagedByValue, secretsync.LabelCredential: cred}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"token": []byte("the-tenants-own-data")},
	}
	if _, err := tenant.CoreV1().Secrets(victim).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 2. Giant workloads (about 1.2 MB each, near what the API server accepts) in the lists the
	// rotator reads, and a giant Secret of another name it must never read.
	big := strings.Repeat("x", 300<<10)
	for i := range 8 {
		d := sandbox.Deployment(victim, "giant-"+string(rune('a'+i)), rig.Images["proj-a"], "harbor-pull", 0)
		for j := range 4 {
			d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "PAD" + string(rune('A'+j)), Value: big})
		}
		if _, err := tenant.AppsV1().Deployments(victim).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatalf("giant deployment: %v", err)
		}
	}
	if _, err := tenant.CoreV1().Secrets(victim).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "giant"},
		Data: map[string][]byte{"a": []byte(strings.Repeat("y", 1<<20))}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 3. A Deployment naming the pull secret, whose image is on another host.
	elsewhere := sandbox.Deployment(victim, "elsewhere", other.host+"/proj-a/web:1", "harbor-pull", 1)
	if _, err := tenant.AppsV1().Deployments(victim).Create(ctx, elsewhere, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 4. The bound ServiceAccount deleted (the ServiceAccount controller brings `default` back).
	if err := tenant.CoreV1().ServiceAccounts(victim).Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// 5. The managed Secret of the second tenant's namespace made immutable.
	frozenSecret, err := frozenTenant.CoreV1().Secrets(frozen).Get(ctx, "harbor-pull", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	frozenSecret.Immutable = ptr(true)
	if _, err := frozenTenant.CoreV1().Secrets(frozen).Update(ctx, frozenSecret, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("the tenant of %s could not make its Secret immutable: %v", frozen, err)
	}

	mark := auditMark(t)
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	rep := onlyReport(t, res)
	if res.Code != 1 || !mentions(strings.Join(rep.Errors, "\n"), victim) {
		t.Fatalf("the rotation must fail naming only the tenant's namespace %s: exit %d %s", victim, res.Code, reportSummary(rep))
	}
	for _, e := range rep.Errors {
		for _, ns := range nss[1:] {
			if mentions(e, ns) {
				t.Errorf("the tenant of %s made namespace %s fail: %s", victim, ns, e)
			}
		}
	}
	if rep.Issued == nil || rep.Issued.Name == old {
		t.Fatalf("no new credential issued: %s", reportSummary(rep))
	}
	fresh := rep.Issued.Name
	assertNamespacesPull(t, cred, nss[1:], fresh)
	if s := secretResult(rep, frozen); s == nil || s.Action != "replaced" {
		t.Errorf("the immutable secret of %s is not reported replaced: %+v", frozen, s)
	}
	if st := rotatorStatus(t, rig.RotatorKubeconfig, cfg, cred); st.Name != fresh || st.Pending != "" {
		t.Fatalf("the tenant held promotion back: current %q pending %q, want %s", st.Name, st.Pending, fresh)
	}
	if res.MaxRSS == 0 || res.MaxRSS >= shippedMemoryLimit {
		t.Errorf("the rotator's peak RSS was %d MiB with the tenant's giant objects, want under the shipped limit of %d MiB", res.MaxRSS>>20, shippedMemoryLimit>>20)
	}
	t.Logf("rotator peak RSS with the tenant's giant objects: %d MiB", res.MaxRSS>>20)

	// The old robot goes after its grace period: the tenant's Secret holds no credential of ours.
	time.Sleep(2 * time.Second)
	for run := 1; run <= 2 && robotExists(old); run++ {
		res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	}
	if robotExists(old) {
		t.Fatalf("the tenant of %s held back the revocation of %s: %s", victim, old, reportSummary(onlyReport(t, res)))
	}

	s, err := rig.Admin.CoreV1().Secrets(victim).Get(ctx, "harbor-pull", metav1.GetOptions{})
	if err != nil || string(s.Data["token"]) != "the-tenants-own-data" || s.Type != corev1.SecretTypeOpaque {
		t.Fatalf("the rotator wrote the tenant's own Secret, which only wore its labels: %v %+v", err, s)
	}
	rotatorWrites := requestsSince(t, mark, "rotator")
	targets := append(slices.Clone(nss), stateNS)
	for _, e := range rotatorWrites {
		if !isWrite(e.Verb) {
			continue
		}
		if !slices.Contains(targets, e.ObjectRef.Namespace) {
			t.Errorf("the rotator wrote outside the targets and its own namespace: %s %s %s/%s", e.Verb, e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name)
		}
		if e.ObjectRef.Namespace == victim && e.ObjectRef.Resource == "secrets" && e.ResponseStatus.Code < 300 {
			t.Errorf("the rotator changed a Secret in the tenant's namespace: %s %s/%s (%d)", e.Verb, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ResponseStatus.Code)
		}
		if e.ObjectRef.Resource == "secrets" && e.ObjectRef.Name == "giant" {
			t.Errorf("the rotator touched the tenant's other Secret: %s", e.Verb)
		}
	}
	for _, e := range requestsSince(t, mark, "rotator") {
		if e.ObjectRef.Resource == "secrets" && e.ObjectRef.Name == "giant" {
			t.Errorf("the rotator read the tenant's other Secret: %s", e.Verb)
		}
	}
	for user, ns := range map[string]string{tenantUser: victim, frozenUser: frozen} {
		for _, e := range requestsSince(t, attacks, user) {
			if isWrite(e.Verb) && e.ResponseStatus.Code < 300 && e.ObjectRef.Namespace != ns {
				t.Errorf("the tenant of %s changed something outside its namespace: %s %s %s/%s", ns, e.Verb, e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name)
			}
		}
	}
	if got := other.authorized(); len(got) > 0 {
		t.Errorf("a credential was sent to %s, the host of the tenant's image: %v", other.host, got)
	}
	if other.requests() == 0 {
		t.Logf("no request reached %s (the image was never pulled there)", other.host)
	}
}

func isWrite(verb string) bool {
	return slices.Contains([]string{"create", "update", "patch", "delete", "deletecollection"}, verb)
}

// tenantClient is ServiceAccount "tenant" of ns with the built-in ClusterRole admin bound in
// ns only: a namespace administrator, as a platform team gives a team its namespace.
func tenantClient(t *testing.T, ns string) kubernetes.Interface {
	t.Helper()
	ctx := context.Background()
	if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "tenant"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.Admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tenant", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := clientFromKubeconfig(t, serviceAccountKubeconfig(t, ns, "tenant"))
	// The binding is in place once the tenant may create Deployments there.
	eventually(t, 15*time.Second, "the tenant's admin RoleBinding takes effect", func() (bool, string) {
		_, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		return err == nil, "list deployments as the tenant"
	})
	return c
}

// recordingRegistry is a registry host of the test's: it answers 401 to everything, as a
// registry wanting credentials would, and records every request's Authorization header.
type recordingRegistry struct {
	host string
	mu   sync.Mutex
	n    int
	auth []string
}

func newRecordingRegistry(t *testing.T) *recordingRegistry {
	t.Helper()
	r := &recordingRegistry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.n++
		if a := req.Header.Get("Authorization"); a != "" {
			r.auth = append(r.auth, req.Method+" "+req.URL.Path+" with "+strings.SplitN(a, " ", 2)[0]+" credentials")
		}
		r.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="elsewhere"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	r.host = u.Host
	return r
}

func (r *recordingRegistry) authorized() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.auth)
}

func (r *recordingRegistry) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
