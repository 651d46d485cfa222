package doctor

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/providers"
)

// retrieveEvent is kubelet's Event for pull secrets of p it could not read, age before the
// pull failure of pullEvent(p, ..., 0).
func retrieveEvent(p *corev1.Pod, age time.Duration, names string) *corev1.Event {
	at := metav1.NewTime(time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC).Add(-age))
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: p.Name + ".retrieve" + at.Format("150405"), Namespace: p.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		Type:           corev1.EventTypeWarning, Reason: reasonFailedToRetrieve, LastTimestamp: at,
		Message: "Unable to retrieve some image pull secrets (" + names + "); attempting to pull the image may not succeed.",
	}
}

const grantShop = "kubectl create rolebinding rotator-doctor-secrets -n shop --clusterrole rotator-doctor-secrets --user alice"

// Under the shipped ClusterRole rotator-doctor the doctor may read no Secret: it asks first and
// sends no Secret read at all, names what pods, Events and ServiceAccounts prove, and for the rest
// says exactly what it could not check and which RoleBinding grants it.
func TestWithoutSecretReads(t *testing.T) {
	opaque := secret(testNS, "pull", corev1.SecretTypeOpaque, map[string][]byte{corev1.DockerConfigJsonKey: doc(testHost, testUser, testPass, auth(testUser, testPass))})
	missingPod := pod("web-1", testImage, ReasonImagePullBackOff, "", "pull")
	tests := []struct {
		name    string
		objs    []runtime.Object
		probe   bool
		want    Code
		checks  []Check // the NotChecked, in order
		explain []string
		fix     []string
	}{{
		name:   "a secret kubelet ignores: the registry's 401 is all that is known",
		objs:   append(failingPod(testImage, unauthorized, "pull"), opaque),
		want:   PullSecretNotChecked,
		checks: []Check{CheckSecretContents},
		explain: []string{`kubelet's Events name none of "pull" as missing`, "SecretWrongType", "SecretWrongKey", "NoMatchingAuthsKey", "AuthFieldMismatch",
			"rotator rotate now --credential NAME"},
		fix: []string{"kubectl delete secret pull -n shop --ignore-not-found", "kubectl create secret docker-registry pull -n shop", "kubectl delete pod web-1 -n shop"},
	}, {
		name:   "with --probe: no pull with secrets it cannot read",
		objs:   append(failingPod(testImage, unauthorized, "pull"), opaque),
		probe:  true,
		want:   PullSecretNotChecked,
		checks: []Check{CheckSecretContents, CheckProbe},
	}, {
		name:    "missing: kubelet's FailedToRetrieveImagePullSecret says so",
		objs:    []runtime.Object{missingPod, pullEvent(missingPod, unauthorized, 0), retrieveEvent(missingPod, 0, "pull"), goodSecret("build", "pull", testHost)},
		want:    SecretNotFound,
		checks:  []Check{CheckOtherNamespaces},
		explain: []string{`kubelet's Event FailedToRetrieveImagePullSecret says so`, "could not look for one of that name elsewhere"},
		fix:     []string{"kubectl create secret docker-registry pull -n shop"},
	}, {
		name:   "kubelet's word that it was missing is older than the last failure: not believed",
		objs:   []runtime.Object{missingPod, pullEvent(missingPod, unauthorized, 0), retrieveEvent(missingPod, 10*time.Minute, "pull")},
		want:   PullSecretNotChecked,
		checks: []Check{CheckSecretContents},
	}, {
		name:    "no pull secret: the namespace's secrets cannot be searched for one that serves",
		objs:    append(failingPod(testImage, unauthorized), sa("default"), goodSecret(testNS, "harbor", testHost)),
		want:    NoPullSecret,
		checks:  []Check{CheckNamespaceSecrets},
		explain: []string{"may not list the Secrets of this namespace"},
		fix:     []string{"kubectl create secret docker-registry regcred -n shop", `kubectl patch serviceaccount default -n shop -p '{"imagePullSecrets":[{"name":"regcred"}]}'`},
	}, {
		name:   "serviceaccount bound after the pod: the look past the restart is not checked",
		objs:   append(failingPod(testImage, unauthorized), sa("default", "pull")),
		want:   PodPredatesServiceAccountBinding,
		checks: []Check{CheckSecretContents},
	}, {
		name:    "a 403 proves the secret was found and matched",
		objs:    append(failingPod(testImage, "GET https://registry.example.com/v2/shop/app/manifests/1.0: DENIED: requested access to the resource is denied", "pull"), goodSecret(testNS, "pull", testHost)),
		want:    RegistryRefused,
		checks:  []Check{CheckSecretContents},
		explain: []string{"A 403 (denied) comes after the registry authenticated the credential"},
	}, {
		name:    "no registry answer: a secret kubelet refuses as a whole is possible",
		objs:    append(failingPod(testImage, "read pull secrets: illegal base64 data at input byte 3", "pull"), goodSecret(testNS, "pull", testHost)),
		want:    PullSecretNotChecked,
		checks:  []Check{CheckSecretContents},
		explain: []string{"SecretMalformed"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := rbacKube(noSecretReads, tt.objs...)
			rep := diagnose(t, &Doctor{Kube: kube, Probe: tt.probe}, tt.objs...)
			if kube.reads != 0 {
				t.Errorf("%d Secret reads sent; the doctor must ask first and send none", kube.reads)
			}
			c := only(t, rep)
			if c.Cause.Code != tt.want || c.Cause.Severity != SeverityError || rep.Healthy || !rep.Limited {
				t.Fatalf("cause %s, healthy %v, limited %v; want %s, limited:\n%s", c.Cause.Code, rep.Healthy, rep.Limited, tt.want, dump(t, rep))
			}
			var got []Check
			for _, n := range c.NotChecked {
				got = append(got, n.Check)
				if n.Reason != "forbidden" || n.Summary == "" {
					t.Errorf("not checked without reason or summary: %+v", n)
				}
			}
			if strings.Join(checkNames(got), ",") != strings.Join(checkNames(tt.checks), ",") {
				t.Errorf("not checked %v, want %v:\n%s", got, tt.checks, dump(t, rep))
			}
			if n, ok := notChecked(c)[CheckSecretContents]; ok {
				want := "could not read secret pull in namespace shop: forbidden; bind ClusterRole rotator-doctor-secrets with a RoleBinding in shop for full checks"
				if !strings.HasPrefix(n.Summary, want) || n.Grant != grantShop || n.Secret != "pull" || len(n.Codes) == 0 {
					t.Errorf("secret not checked: %+v", n)
				}
			}
			for _, e := range tt.explain {
				if !strings.Contains(c.Cause.Explanation, e) {
					t.Errorf("explanation lacks %q:\n%s", e, c.Cause.Explanation)
				}
			}
			fix := fixText(c.Cause)
			for _, f := range tt.fix {
				if !strings.Contains(fix, f) {
					t.Errorf("fix lacks %q:\n%s", f, fix)
				}
			}
		})
	}
}

func checkNames(cs []Check) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// A running pod whose secrets the doctor may not read is healthy, with what was not checked.
func TestRunningPodWithoutSecretReads(t *testing.T) {
	objs := []runtime.Object{pod("web-1", testImage, "", "", "pull"), goodSecret(testNS, "pull", "https://"+testHost)}
	rep := diagnose(t, &Doctor{Kube: rbacKube(noSecretReads, objs...).Clientset, Probe: true})
	c := only(t, rep)
	if c.Cause.Code != Healthy || c.Cause.Probed || !rep.Healthy || !rep.Limited || len(c.Warnings) != 0 {
		t.Fatalf("%s", dump(t, rep))
	}
	if nc := notChecked(c); len(nc) != 2 || nc[CheckSecretContents].Secret != "pull" || nc[CheckProbe].Check == "" {
		t.Errorf("not checked %+v", c.NotChecked)
	}
}

// A person whose own rights cover some namespaces gets the full checks there: a RoleBinding of
// rotator-doctor-secrets in shop brings back the exact broken link, without the cluster-wide look.
func TestRoleBindingInTheNamespaceGivesFullChecks(t *testing.T) {
	inShop := func(verb, ns, name string) bool { return ns == testNS && (verb == "get" || verb == "list") }
	wrongPort := secret(testNS, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: doc(testHost+":5000", testUser, testPass, auth(testUser, testPass))})
	objs := append(failingPod(testImage, unauthorized, "pull"), wrongPort)
	kube := rbacKube(inShop, objs...)
	rep := diagnose(t, &Doctor{Kube: kube})
	if c := only(t, rep); c.Cause.Code != NoMatchingAuthsKey || len(c.NotChecked) != 0 || rep.Limited || kube.refused != 0 {
		t.Fatalf("refused %d: %s", kube.refused, dump(t, rep))
	}

	// A missing secret: found missing by the read, but the other namespaces are not searched.
	p := pod("web-1", testImage, ReasonImagePullBackOff, "", "pull")
	kube = rbacKube(inShop, p, pullEvent(p, unauthorized, 0), goodSecret("build", "pull", testHost))
	rep = diagnose(t, &Doctor{Kube: kube})
	c := only(t, rep)
	if c.Cause.Code != SecretNotFound || len(c.Cause.OtherNamespaces) != 0 || len(c.NotChecked) != 1 || c.NotChecked[0].Check != CheckOtherNamespaces || kube.refused != 0 {
		t.Fatalf("%s", dump(t, rep))
	}
	// The only grant would read every Secret of the cluster: none is offered, a look-up is.
	if n := c.NotChecked[0]; n.Grant != "" || !strings.Contains(n.Summary, "kubectl get secrets -A --field-selector metadata.name=pull") {
		t.Errorf("not checked %+v", n)
	}
}

// Where the access review cannot be asked, or says yes and the read is refused all the same, the
// doctor tries the read and, on 403, degrades just the same: "the doctor tries, and on 403
// degrades".
func TestReadRefusedDespiteTheReview(t *testing.T) {
	objs := append(failingPod(testImage, unauthorized, "pull"), goodSecret(testNS, "pull", testHost))
	kube := rbacKube(noSecretReads, objs...)
	kube.PrependReactor("create", "selfsubjectaccessreviews", allowAll) // a review that lies
	rep := diagnose(t, &Doctor{Kube: kube})
	c := only(t, rep)
	if c.Cause.Code != PullSecretNotChecked || kube.refused != 1 {
		t.Fatalf("refused %d: %s", kube.refused, dump(t, rep))
	}
	if n := notChecked(c)[CheckSecretContents]; n.Grant != grantShop {
		t.Errorf("not checked %+v", c.NotChecked)
	}
}

// The rotator's state Secret holds live passwords: a team's RoleBinding does not reach it, and the
// doctor says what it cannot tell without it and the one-Secret Role that would grant it.
func TestManagedCredentialWithoutTheRotatorsState(t *testing.T) {
	s := goodSecret(testNS, "harbor-pull", testHost)
	s.Labels = map[string]string{"app.kubernetes.io/managed-by": "rotator", "rotator.dev/credential": "harbor-main"}
	s.Annotations = map[string]string{"rotator.dev/credential-id": "12", "rotator.dev/credential-name": "robot$shop+rotator-harbor-main-12"}
	objs := append(failingPod(testImage, unauthorized, "harbor-pull"), s)
	kube := rbacKube(func(verb, ns, name string) bool { return ns == testNS }, objs...)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := (&state.Store{Client: kube, Namespace: "rotator-system"}).Save(context.Background(), "harbor-main", &state.State{Current: &state.Issued{ID: "12", Password: "Current-pa55word-never-shown"}}); err != nil {
		t.Fatal(err)
	}
	kube.reads, kube.refused = 0, 0
	prov := &fakeProvider{}
	d := &Doctor{Kube: kube, Probe: false, StateNamespace: "rotator-system", Clock: clocktesting.NewFakePassiveClock(now),
		Credentials: map[string]ManagedCredential{"harbor-main": {Provider: prov, Spec: providers.Spec{NamePrefix: "rotator-harbor-main-"}}}}
	rep := diagnose(t, d)
	c := only(t, rep)
	if c.Cause.Code != RegistryRefused || c.Cause.Credential != "harbor-main" || kube.refused != 0 {
		t.Fatalf("refused %d: %s", kube.refused, dump(t, rep))
	}
	if strings.Contains(dump(t, rep), "Current-pa55word-never-shown") {
		t.Fatal("the report holds a secret value")
	}
	if !strings.Contains(c.Cause.Explanation, "may not read the rotator's state (secret rotator-state-harbor-main in namespace rotator-system)") {
		t.Errorf("explanation: %s", c.Cause.Explanation)
	}
	n := notChecked(c)[CheckRotatorState]
	if n.Secret != "rotator-state-harbor-main" || n.Namespace != "rotator-system" ||
		n.Grant != "kubectl create role rotator-doctor-state -n rotator-system --verb get --resource secrets --resource-name rotator-state-harbor-main && kubectl create rolebinding rotator-doctor-state -n rotator-system --role rotator-doctor-state --user alice" {
		t.Errorf("not checked %+v", c.NotChecked)
	}
}

func TestSubjectFlag(t *testing.T) {
	for user, want := range map[string]string{
		"alice":                           "--user alice",
		"system:serviceaccount:ci:doctor": "--serviceaccount ci:doctor",
		"Jane Doe":                        "--user 'Jane Doe'",
		"":                                "--user '<user>'",
	} {
		kube := newKube()
		kube.PrependReactor("create", "selfsubjectreviews", selfReview(user))
		if got := newAccess(kube).subjectFlag(context.Background()); got != want {
			t.Errorf("%q: %q, want %q", user, got, want)
		}
	}
}
