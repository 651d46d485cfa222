//go:build integration

package e2e

import (
	"context"
	"net"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rotatorhq/rotator/internal/doctor"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

// The doctor's shipped ClusterRole reads no Secret, and a team's RoleBinding of
// rotator-doctor-secrets in its own namespace brings the full diagnosis back there and only there.
// Proven on the sandbox's real kube-apiserver: what its authorizer allows the doctor's user, and
// what its audit log saw that user send.
func TestDoctorReadsSecretsOnlyWhereARoleBindingLetsIt(t *testing.T) {
	ctx := context.Background()
	sv := &secretValues{}
	nss := namespaces(t, "doc-rb", 2)
	team, other := nss[0], nss[1]

	// The shipped role alone: no Secret read anywhere, not even by name.
	for _, ns := range []string{team, other, stateNS, ""} {
		for _, verb := range []string{"get", "list", "watch"} {
			if doctorMay(t, verb, ns) {
				t.Errorf("the shipped ClusterRole rotator-doctor lets its user %s secrets in namespace %q", verb, ns)
			}
		}
	}
	// Kubernetes has no metadata-only right: a PartialObjectMetadata request is authorised as a
	// get of the Secret, so a metadata client gets no further than a full read.
	rawPullSecret(t, other, "probe-metadata", corev1.SecretTypeOpaque, map[string][]byte{"k": []byte("v")})
	rc, err := clientcmd.BuildConfigFromFlags("", rig.DoctorKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := metadata.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(other).Get(ctx, "probe-metadata", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a metadata-only get of a Secret by the doctor's user: %v, want forbidden (RBAC treats it as get secrets)", err)
	}

	// The same broken secret in both namespaces: an auths key with another port.
	r := sv.robotFor(t, "doc-rb-", "proj-a")
	host, port, _ := net.SplitHostPort(rig.RegistryHost)
	data, _ := pullsecret.Build(net.JoinHostPort(host, otherPort(port)), r.Username, r.Password)
	for _, ns := range nss {
		defaultServiceAccount(t, ns)
		rawPullSecret(t, ns, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: data})
		if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "pull", 1)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range nss {
		pullFailure(t, ns, "web")
	}

	// Under the shipped role: PullSecretNotChecked in both, and not one Secret request.
	mark := auditMark(t)
	var limited []doctorResult
	for _, ns := range nss {
		limited = append(limited, runDoctor(t, sv, "-n", ns, "deployment/web", "-o", "json"))
	}
	if reads := secretReadsSince(t, mark); len(reads) != 0 {
		t.Errorf("under the shipped ClusterRole rotator-doctor the audit log shows user %s sending Secret requests:\n%s", sandbox.DoctorUser, strings.Join(reads, "\n"))
	}
	for i, ns := range nss {
		checkNotChecked(t, ns, diagnosed(t, limited[i], doctor.PullSecretNotChecked, doctor.ClassAuth))
	}

	// The team binds rotator-doctor-secrets in its namespace, as the doctor's line says.
	if err := rig.BindDoctorSecrets(ctx, team); err != nil {
		t.Fatal(err)
	}
	mark = auditMark(t)
	res := runDoctor(t, sv, "-n", team, "deployment/web", "-o", "json")
	c := diagnosed(t, res, doctor.NoMatchingAuthsKey, doctor.ClassAuth)
	if res.Report.Limited || len(c.NotChecked) != 0 || !strings.Contains(c.Cause.Explanation, "port") {
		t.Errorf("with the RoleBinding in %s: limited %v, not checked %+v, explanation %s", team, res.Report.Limited, c.NotChecked, c.Cause.Explanation)
	}
	text := runDoctor(t, sv, "-n", team, "deployment/web")
	t.Logf("rotator doctor, with the RoleBinding in %s, said:\n%s", team, text.Stdout)
	res = runDoctor(t, sv, "-n", other, "deployment/web", "-o", "json")
	checkNotChecked(t, other, diagnosed(t, res, doctor.PullSecretNotChecked, doctor.ClassAuth))
	text = runDoctor(t, sv, "-n", other, "deployment/web")
	t.Logf("rotator doctor, without it in %s, said:\n%s", other, text.Stdout)
	reads := secretReadsSince(t, mark)
	if len(reads) == 0 {
		t.Errorf("with the RoleBinding in %s the audit log shows no read of its pull secret", team)
	}
	for _, r := range reads {
		if r != "get "+team+"/pull (200)" {
			t.Errorf("the doctor sent %s: with a RoleBinding in %s it may read only there, and needs only the pull secret", r, team)
		}
	}
}

// doctorMay asks the API server whether the doctor's user may verb secrets in ns ("": every
// namespace).
func doctorMay(t *testing.T, verb, ns string) bool {
	t.Helper()
	r, err := rig.Admin.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: sandbox.DoctorUser, Groups: []string{"system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: "secrets"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}
