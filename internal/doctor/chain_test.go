package doctor

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const unauthorized = "GET https://registry.example.com/v2/shop/app/manifests/1.0: UNAUTHORIZED: authentication required"

// Each link of the chain kubelet follows, broken on its own: the doctor names exactly that one,
// with its fix, and never a secret's value.
func TestChainNamesTheFirstBrokenLink(t *testing.T) {
	managed := func(s *corev1.Secret) *corev1.Secret {
		s.Labels = map[string]string{"app.kubernetes.io/managed-by": "rotator", "rotator.dev/credential": "harbor-main"}
		return s
	}
	tests := []struct {
		name         string
		objs         []runtime.Object
		want         Code
		wantWarnings []Code
		fix          []string // substrings of the fix, in order
		check        func(t *testing.T, c ContainerReport)
	}{{
		name: "no pull secret anywhere",
		objs: append(failingPod(testImage, unauthorized), sa("default")),
		want: NoPullSecret,
		fix: []string{"kubectl create secret docker-registry regcred -n shop --docker-server=registry.example.com --docker-username='<username>' --docker-password='<password>'",
			`kubectl patch serviceaccount default -n shop -p '{"imagePullSecrets":[{"name":"regcred"}]}'`,
			"kubectl delete pod web-1 -n shop"},
	}, {
		name: "no pull secret, but one in the namespace would serve",
		objs: append(failingPod(testImage, unauthorized), sa("default"), goodSecret(testNS, "harbor", testHost)),
		want: NoPullSecret,
		fix:  []string{`kubectl patch serviceaccount default -n shop -p '{"imagePullSecrets":[{"name":"harbor"}]}'`},
		check: func(t *testing.T, c ContainerReport) {
			if strings.Contains(fixText(c.Cause), "create secret") {
				t.Errorf("an existing secret serves the image; no need to create one: %q", c.Cause.Fix)
			}
		},
	}, {
		name: "serviceaccount bound after the pod was created",
		objs: append(failingPod(testImage, unauthorized), sa("default", "pull"), goodSecret(testNS, "pull", testHost)),
		want: PodPredatesServiceAccountBinding,
		fix:  []string{"kubectl delete pod web-1 -n shop"},
	}, {
		name:         "serviceaccount bound after, to a secret that does not exist: said as what comes next",
		objs:         append(failingPod(testImage, unauthorized), sa("default", "pull")),
		want:         PodPredatesServiceAccountBinding,
		wantWarnings: []Code{SecretNotFound},
	}, {
		name: "secret missing here, present elsewhere: copied",
		objs: append(failingPod(testImage, unauthorized, "pull"), goodSecret("build", "pull", testHost), goodSecret("ci", "other", testHost)),
		want: SecretNotFound,
		fix:  []string{`kubectl get secret pull -n build -o go-template='{{index .data ".dockerconfigjson" | base64decode}}' | kubectl create secret generic pull -n shop --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin`},
		check: func(t *testing.T, c ContainerReport) {
			if len(c.Cause.OtherNamespaces) != 1 || c.Cause.OtherNamespaces[0] != "build" {
				t.Errorf("other namespaces %v, want [build]", c.Cause.OtherNamespaces)
			}
		},
	}, {
		name: "secret missing everywhere",
		objs: failingPod(testImage, unauthorized, "pull"),
		want: SecretNotFound,
		fix:  []string{"kubectl create secret docker-registry pull -n shop --docker-server=registry.example.com"},
	}, {
		name: "Opaque type with the right key",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			secret(testNS, "pull", corev1.SecretTypeOpaque, map[string][]byte{".dockerconfigjson": doc(testHost, testUser, testPass, auth(testUser, testPass))})),
		want: SecretWrongType,
		fix:  []string{"kubectl delete secret pull -n shop --ignore-not-found", "kubectl create secret docker-registry pull -n shop"},
	}, {
		name: "legacy dockercfg type holding an auths document",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			secret(testNS, "pull", corev1.SecretTypeDockercfg, map[string][]byte{".dockercfg": doc(testHost, testUser, testPass, auth(testUser, testPass))})),
		want: SecretWrongType,
	}, {
		name: "config.json key of a generic secret",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			secret(testNS, "pull", corev1.SecretTypeOpaque, map[string][]byte{"config.json": doc(testHost, testUser, testPass, auth(testUser, testPass))})),
		want: SecretWrongKey,
		check: func(t *testing.T, c ContainerReport) {
			if !strings.Contains(c.Cause.Summary, `"config.json"`) {
				t.Errorf("summary does not name the key: %s", c.Cause.Summary)
			}
		},
	}, {
		name: "auth field not base64: kubelet refuses the secret, whatever the others hold",
		objs: append(failingPod(testImage, "read pull secrets: illegal base64 data at input byte 0", "good", "pull"),
			goodSecret(testNS, "good", testHost),
			secret(testNS, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": doc(testHost, testUser, testPass, "%%%")})),
		want: SecretMalformed,
	}, {
		name: "no entry at all",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			secret(testNS, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)})),
		want: SecretMalformed,
	}, {
		name: "entries at the top level of a .dockerconfigjson",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			secret(testNS, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte(`{"registry.example.com":{"auth":"` + auth(testUser, testPass) + `"}}`)})),
		want: SecretMalformed,
	}, {
		name: "key with another port",
		objs: append(failingPod(testImage, unauthorized, "pull"), goodSecret(testNS, "pull", testHost+":5000")),
		want: NoMatchingAuthsKey,
		check: func(t *testing.T, c ContainerReport) {
			if !strings.Contains(c.Cause.Explanation, `port "5000" of the key differs from port (none) of the image`) {
				t.Errorf("explanation: %s", c.Cause.Explanation)
			}
		},
	}, {
		name: "auth field disagrees with username/password",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			secret(testNS, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": doc(testHost, testUser, testPass, auth(testUser, "old-"+testPass))})),
		want: AuthFieldMismatch,
	}, {
		name: "every link holds: the registry refuses the credential",
		objs: append(failingPod(testImage, unauthorized, "pull"), goodSecret(testNS, "pull", testHost)),
		want: RegistryRefused,
		fix:  []string{"kubectl delete secret pull -n shop --ignore-not-found", "kubectl create secret docker-registry pull"},
		check: func(t *testing.T, c ContainerReport) {
			if c.Cause.Probed || c.Cause.Key != testHost || c.Class != ClassAuth {
				t.Errorf("cause %+v class %s", c.Cause, c.Class)
			}
		},
	}, {
		name: "403: refused access to the repository",
		objs: append(failingPod(testImage, "denied: requested access to the resource is denied", "pull"), goodSecret(testNS, "pull", testHost)),
		want: RegistryRefused,
		check: func(t *testing.T, c ContainerReport) {
			if c.Class != ClassPermission || !strings.Contains(c.Cause.Summary, "pull access") {
				t.Errorf("class %s summary %s", c.Class, c.Cause.Summary)
			}
		},
	}, {
		name:         "a missing secret beside one that matches is a warning",
		objs:         append(failingPod(testImage, unauthorized, "gone", "pull"), goodSecret(testNS, "pull", testHost)),
		want:         RegistryRefused,
		wantWarnings: []Code{SecretNotFound},
	}, {
		name:         "a legacy secret that kubelet reads",
		objs:         append(failingPod(testImage, unauthorized, "pull"), secret(testNS, "pull", corev1.SecretTypeDockercfg, map[string][]byte{".dockercfg": []byte(`{"registry.example.com":{"auth":"` + auth(testUser, testPass) + `"}}`)})),
		want:         RegistryRefused,
		wantWarnings: []Code{LegacySecretType},
	}, {
		name: "rotator-managed secret of the wrong type: rotate",
		objs: append(failingPod(testImage, unauthorized, "pull"),
			managed(secret(testNS, "pull", corev1.SecretTypeOpaque, map[string][]byte{".dockerconfigjson": doc(testHost, testUser, testPass, auth(testUser, testPass))}))),
		want: SecretWrongType,
		fix:  []string{"rotator rotate now --config '<config.yaml>' --credential harbor-main"},
	}, {
		name: "rotator-managed secret for another registry: fix the config's registryHost",
		objs: append(failingPod(testImage, unauthorized, "pull"), managed(goodSecret(testNS, "pull", "harbor.example.com"))),
		want: NoMatchingAuthsKey,
		fix:  []string{"registryHost: registry.example.com", "rotator rotate now --config '<config.yaml>' --credential harbor-main"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := only(t, diagnose(t, nil, tt.objs...))
			if c.Cause.Code != tt.want || c.Cause.Severity != SeverityError {
				t.Fatalf("cause %s (%s): %s\n%s; want %s", c.Cause.Code, c.Cause.Severity, c.Cause.Summary, c.Cause.Explanation, tt.want)
			}
			if got := codes(c.Warnings); strings.Join(codeStrings(got), ",") != strings.Join(codeStrings(tt.wantWarnings), ",") {
				t.Errorf("warnings %v, want %v: %+v", got, tt.wantWarnings, c.Warnings)
			}
			if c.Cause.Explanation == "" || len(c.Cause.Fix) == 0 {
				t.Errorf("no explanation or fix: %+v", c.Cause)
			}
			rest := fixText(c.Cause)
			for _, want := range tt.fix {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("fix lacks %q (in order):\n%s", want, fixText(c.Cause))
				}
				rest = rest[i+len(want):]
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func codeStrings(cs []Code) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}

// Failures a pull secret cannot cause are named as such; broken links of the secrets the pod
// names are still said, as warnings.
func TestNonCredentialFailures(t *testing.T) {
	tests := []struct {
		msg   string
		want  Code
		class Class
	}{
		{"GET https://registry.example.com/v2/shop/app/manifests/nope: MANIFEST_UNKNOWN: manifest unknown", ImageNotFound, ClassMissingImage},
		{`failed to resolve reference "registry.example.com/shop/app:nope": registry.example.com/shop/app:nope: not found`, ImageNotFound, ClassMissingImage},
		{`Get "https://registry.example.com/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`, RegistryTLS, ClassTLS},
		{`dial tcp: lookup registry.example.com on 10.0.0.10:53: no such host`, RegistryUnreachable, ClassNetwork},
		{`Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`, RegistryUnreachable, ClassNetwork},
	}
	for _, tt := range tests {
		c := only(t, diagnose(t, nil, append(failingPod(testImage, tt.msg, "gone"), sa("default"))...))
		if c.Cause.Code != tt.want || c.Class != tt.class {
			t.Errorf("%q: cause %s class %s, want %s %s", tt.msg, c.Cause.Code, c.Class, tt.want, tt.class)
		}
		if !strings.Contains(c.Cause.Explanation, "not the problem") || !strings.Contains(fixText(c.Cause), "kubectl set image pod/web-1 app='<image>' -n shop") {
			t.Errorf("%q: %+v", tt.msg, c.Cause)
		}
		if got := codes(c.Warnings); len(got) != 1 || got[0] != SecretNotFound || c.Warnings[0].Severity != SeverityWarning {
			t.Errorf("%q: warnings %v, want the missing secret as a warning", tt.msg, got)
		}
	}
}

// A running container gets a clean bill; what is wrong with the secrets it names is a warning.
func TestRunningPodIsHealthyWithWarnings(t *testing.T) {
	p := pod("web-1", testImage, "", "", "gone", "pull")
	rep := diagnose(t, nil, p, goodSecret(testNS, "pull", "https://"+testHost+"/v2/"))
	c := only(t, rep)
	if !rep.Healthy || c.Cause.Code != Healthy || c.Cause.Severity != SeverityOK {
		t.Fatalf("report %+v", rep)
	}
	if got := codes(c.Warnings); len(got) != 2 || got[0] != SecretNotFound || got[1] != AuthsKeyNotPortable {
		t.Errorf("warnings %v", got)
	}
	// A pod being deleted is left out of --all: its replacement matters.
	gone := pod("web-0", testImage, ReasonImagePullBackOff, "")
	now := metav1.Now()
	gone.DeletionTimestamp = &now
	gone.Finalizers = []string{"test"}
	rep = diagnose(t, nil, p, gone)
	if len(rep.Pods) != 1 || rep.Pods[0].Name != "web-1" {
		t.Errorf("pods %+v", rep.Pods)
	}
}

func TestInvalidImageName(t *testing.T) {
	p := pod("web-1", "Registry.Example.com/App", ReasonInvalidImageName, "")
	c := only(t, diagnose(t, nil, p))
	if c.Cause.Code != PullFailed || c.Cause.Severity != SeverityError {
		t.Fatalf("%+v", c.Cause)
	}
}

// A registry (or a proxy) that echoes the credential into its error puts it into kubelet's Event;
// the report still never holds it.
func TestReportIsScrubbedOfSecretValues(t *testing.T) {
	echo := "UNAUTHORIZED: bad credentials " + testUser + ":" + testPass + " (" + auth(testUser, testPass) + ")"
	rep := diagnose(t, nil, append(failingPod(testImage, echo, "pull"), goodSecret(testNS, "pull", testHost))...) // diagnose checks
	c := only(t, rep)
	if c.Cause.Code != RegistryRefused || !strings.Contains(c.Message, "[redacted]") || !strings.Contains(c.Cause.Explanation, "[redacted]") {
		t.Fatalf("message %q, cause %+v", c.Message, c.Cause)
	}
}
