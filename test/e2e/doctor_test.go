//go:build integration

package e2e

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/doctor"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/providers"
)

// doctorCase breaks one link of the chain (or the pull itself) for a Deployment "web".
type doctorCase struct {
	name  string
	want  doctor.Code
	class doctor.Class
	// limited is the cause the doctor names under its shipped role, which reads no Secret, when
	// that needs a look inside one (want otherwise): PullSecretNotChecked.
	limited doctor.Code
	probe   bool
	// setup creates what the pod needs and returns its image, the pull secret it names ("" for
	// none) and the values to put in place of the fix's placeholders.
	setup func(t *testing.T, ns string, sv *secretValues) (image, secret string, subs map[string]string)
	// broken, if set, runs once the pod fails to pull.
	broken func(t *testing.T, ns string)
	// check, if set, looks further at the failing container's full diagnosis.
	check func(t *testing.T, ns string, sv *secretValues, c doctor.ContainerReport)
	// limitedCheck, if set, looks further at it under the shipped role.
	limitedCheck func(t *testing.T, ns string, c doctor.ContainerReport)
}

// For every link of the chain kubelet follows, and for each failure a pull secret cannot cause, a
// pod that the node simulator really fails to pull. Under its shipped role, which reads no Secret,
// the doctor names the cause where pods, kubelet's Events and ServiceAccounts prove it, and
// PullSecretNotChecked where only a look inside the secret would, saying what it could not check
// and which RoleBinding grants it; the API server's audit log shows it sent no Secret read at all.
// With full reads (the cluster admin's kubeconfig: a person running it with their own) it names
// exactly that cause, its printed fix (placeholders replaced by real values) makes the workload
// Running, and the doctor then gives a clean bill. No output ever holds a secret's value.
func TestDoctorNamesEachBrokenLinkAndItsFixWorks(t *testing.T) {
	valid := func(t *testing.T, ns string, sv *secretValues, name string) providers.Credential {
		r := sv.robotFor(t, "doc-", "proj-a")
		pullSecret(t, ns, name, r.Username, r.Password)
		return r
	}
	fresh := func(t *testing.T, sv *secretValues) map[string]string {
		r := sv.robotFor(t, "doc-fix-", "proj-a")
		return map[string]string{doctor.PlaceholderUsername: r.Username, doctor.PlaceholderPassword: r.Password}
	}
	image := func() string { return rig.Images["proj-a"] }

	cases := []doctorCase{{
		name: "no pull secret", want: doctor.NoPullSecret, class: doctor.ClassAuth,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			return image(), "", fresh(t, sv)
		},
		check: func(t *testing.T, ns string, sv *secretValues, c doctor.ContainerReport) {
			if c.Cause.ServiceAccount != "default" {
				t.Errorf("serviceaccount %q, want default", c.Cause.ServiceAccount)
			}
		},
	}, {
		name: "serviceaccount bound after the pod was created", want: doctor.PodPredatesServiceAccountBinding, class: doctor.ClassAuth,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			valid(t, ns, sv, "pull")
			return image(), "", nil
		},
		broken: func(t *testing.T, ns string) {
			sa := defaultServiceAccount(t, ns)
			sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
			if _, err := rig.Admin.CoreV1().ServiceAccounts(ns).Update(context.Background(), sa, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "secret missing here, present in another namespace", want: doctor.SecretNotFound, class: doctor.ClassAuth,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			// A name no other test uses, so exactly one other namespace holds it.
			other := namespaces(t, "doc-other", 1)[0]
			valid(t, other, sv, "pull-shared")
			return image(), "pull-shared", nil // the fix copies it: no placeholder
		},
		// Under the shipped role kubelet's Event names the missing secret; the look into other
		// namespaces needs a cluster-wide list of secrets: not checked, and said.
		limitedCheck: func(t *testing.T, ns string, c doctor.ContainerReport) {
			if len(c.Cause.OtherNamespaces) != 0 || notCheckedOf(c, doctor.CheckOtherNamespaces) == nil {
				t.Errorf("under the shipped role: other namespaces %v, not checked %+v", c.Cause.OtherNamespaces, c.NotChecked)
			}
		},
		check: func(t *testing.T, ns string, sv *secretValues, c doctor.ContainerReport) {
			if len(c.Cause.OtherNamespaces) != 1 || !strings.HasPrefix(c.Cause.OtherNamespaces[0], "doc-other-") {
				t.Errorf("other namespaces %v, want the one holding the secret", c.Cause.OtherNamespaces)
			}
		},
	}, {
		name: "secret missing everywhere", want: doctor.SecretNotFound, class: doctor.ClassAuth,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			return image(), "pull-nowhere", fresh(t, sv)
		},
	}, {
		name: "Opaque secret", want: doctor.SecretWrongType, class: doctor.ClassAuth, limited: doctor.PullSecretNotChecked,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := sv.robotFor(t, "doc-", "proj-a")
			data, _ := pullsecret.Build(rig.RegistryHost, r.Username, r.Password)
			rawPullSecret(t, ns, "pull", corev1.SecretTypeOpaque, map[string][]byte{corev1.DockerConfigJsonKey: data})
			return image(), "pull", fresh(t, sv)
		},
	}, {
		name: "legacy dockercfg type holding an auths document", want: doctor.SecretWrongType, class: doctor.ClassAuth, limited: doctor.PullSecretNotChecked,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := sv.robotFor(t, "doc-", "proj-a")
			data, _ := pullsecret.Build(rig.RegistryHost, r.Username, r.Password)
			rawPullSecret(t, ns, "pull", corev1.SecretTypeDockercfg, map[string][]byte{corev1.DockerConfigKey: data})
			return image(), "pull", fresh(t, sv)
		},
	}, {
		name: "config.json key", want: doctor.SecretWrongKey, class: doctor.ClassAuth, limited: doctor.PullSecretNotChecked,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := sv.robotFor(t, "doc-", "proj-a")
			data, _ := pullsecret.Build(rig.RegistryHost, r.Username, r.Password)
			rawPullSecret(t, ns, "pull", corev1.SecretTypeOpaque, map[string][]byte{"config.json": data})
			return image(), "pull", fresh(t, sv)
		},
	}, {
		// kubelet refuses the whole secret and reports no registry answer at all.
		name: "auth field not base64", want: doctor.SecretMalformed, class: doctor.ClassOther, limited: doctor.PullSecretNotChecked,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := sv.robotFor(t, "doc-", "proj-a")
			rawPullSecret(t, ns, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{
				corev1.DockerConfigJsonKey: dockerConfig(rig.RegistryHost, r.Username, r.Password, "%%not-base64%%")})
			return image(), "pull", fresh(t, sv)
		},
	}, {
		name: "auths key with another port", want: doctor.NoMatchingAuthsKey, class: doctor.ClassAuth, limited: doctor.PullSecretNotChecked,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := sv.robotFor(t, "doc-", "proj-a")
			host, port, _ := net.SplitHostPort(rig.RegistryHost)
			other := net.JoinHostPort(host, otherPort(port))
			data, _ := pullsecret.Build(other, r.Username, r.Password)
			rawPullSecret(t, ns, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: data})
			return image(), "pull", fresh(t, sv)
		},
		check: func(t *testing.T, ns string, sv *secretValues, c doctor.ContainerReport) {
			if !strings.Contains(c.Cause.Explanation, "port") {
				t.Errorf("explanation does not name the port: %s", c.Cause.Explanation)
			}
		},
	}, {
		name: "auth field disagrees with username and password", want: doctor.AuthFieldMismatch, class: doctor.ClassAuth, limited: doctor.PullSecretNotChecked,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := sv.robotFor(t, "doc-", "proj-a")
			sv.add(r.Username, "stale-"+r.Password)
			rawPullSecret(t, ns, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{
				corev1.DockerConfigJsonKey: dockerConfig(rig.RegistryHost, r.Username, r.Password, basicAuth(r.Username, "stale-"+r.Password))})
			return image(), "pull", fresh(t, sv)
		},
	}, {
		name: "registry refuses a deleted robot", want: doctor.RegistryRefused, class: doctor.ClassAuth, limited: doctor.PullSecretNotChecked, probe: true,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			r := valid(t, ns, sv, "pull")
			if err := harborAdmin(t).Revoke(context.Background(), providers.Spec{NamePrefix: "doc-", Projects: []string{"proj-a"}}, r.ID); err != nil {
				t.Fatal(err)
			}
			return image(), "pull", fresh(t, sv)
		},
		check: func(t *testing.T, ns string, sv *secretValues, c doctor.ContainerReport) {
			if !c.Cause.Probed || c.Cause.Secret != "pull" || c.Cause.Key != rig.RegistryHost {
				t.Errorf("want a probed refusal of key %s of secret pull: %+v", rig.RegistryHost, c.Cause)
			}
			// Without --probe kubelet's 401 is the registry's answer: same cause, not probed.
			res := runDoctorAs(t, rig.AdminKubeconfig, sv, "-n", ns, "deployment/web", "-o", "json")
			got := failingCauses(res.Report)
			if res.Code != 1 || len(got) == 0 || got[0].Cause.Code != doctor.RegistryRefused || got[0].Cause.Probed {
				t.Errorf("without --probe: exit %d, %+v", res.Code, got)
			}
		},
	}, {
		name: "missing tag", want: doctor.ImageNotFound, class: doctor.ClassMissingImage,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			valid(t, ns, sv, "pull")
			return rig.RegistryHost + "/proj-a/app:no-such-tag", "pull", map[string]string{doctor.PlaceholderImage: image()}
		},
	}, {
		name: "registry port closed", want: doctor.RegistryUnreachable, class: doctor.ClassNetwork,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			valid(t, ns, sv, "pull")
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			closed := l.Addr().String()
			l.Close()
			return closed + "/proj-a/app:1.0", "pull", map[string]string{doctor.PlaceholderImage: image()}
		},
	}, {
		name: "registry certificate not trusted", want: doctor.RegistryTLS, class: doctor.ClassTLS,
		setup: func(t *testing.T, ns string, sv *secretValues) (string, string, map[string]string) {
			valid(t, ns, sv, "pull")
			srv := httptest.NewUnstartedServer(http.NotFoundHandler())
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.Listener.Addr().String() + "/proj-a/app:1.0", "pull", map[string]string{doctor.PlaceholderImage: image()}
		},
	}}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runDoctorCase(t, tc)
		})
	}
}

func runDoctorCase(t *testing.T, tc doctorCase) {
	ctx := context.Background()
	sv := &secretValues{}
	mark := auditMark(t)
	ns := namespaces(t, "doc", 1)[0]
	defaultServiceAccount(t, ns)
	img, secret, subs := tc.setup(t, ns, sv)
	if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", img, secret, 1)); err != nil {
		t.Fatal(err)
	}
	pullFailure(t, ns, "web")
	if tc.broken != nil {
		tc.broken(t, ns)
	}

	args := []string{"-n", ns, "deployment/web", "-o", "json"}
	if tc.probe {
		args = append(args, "--probe")
	}
	flags := args[5:]

	// Under the shipped role: what can be told without reading a Secret, and what could not.
	limited := tc.limited
	if limited == "" {
		limited = tc.want
	}
	res := runDoctor(t, sv, args...)
	noSecretReadsSince(t, mark, ns) // first: whatever it diagnosed, it sent no Secret read
	lc := diagnosed(t, res, limited, tc.class)
	if !res.Report.Limited {
		t.Errorf("under the shipped role the report does not say some checks were not made:\n%s", res.Stdout)
	}
	checkNotChecked(t, ns, lc)
	if limited == doctor.PullSecretNotChecked && notCheckedOf(lc, doctor.CheckSecretContents) == nil {
		t.Errorf("PullSecretNotChecked without the secret it could not read:\n%s", res.Stdout)
	}
	if tc.probe && notCheckedOf(lc, doctor.CheckProbe) == nil {
		t.Errorf("--probe under the shipped role does not say it could not pull with the secrets:\n%s", res.Stdout)
	}
	if tc.limitedCheck != nil {
		tc.limitedCheck(t, ns, lc)
	}
	text := runDoctor(t, sv, append([]string{"-n", ns, "deployment/web"}, flags...)...)
	if text.Code != 1 || !strings.Contains(text.Stdout, string(limited)) || !strings.Contains(text.Stdout, lc.Cause.Fix[0]) || !strings.Contains(text.Stdout, "not checked") {
		t.Fatalf("text output under the shipped role (exit %d) lacks %s, its fix or what it did not check:\n%s", text.Code, limited, text.Stdout)
	}
	t.Logf("rotator doctor, under its shipped role, said:\n%s", text.Stdout)
	noSecretReadsSince(t, mark, ns)

	// With full reads: the exact broken link.
	res = runDoctorAs(t, rig.AdminKubeconfig, sv, args...)
	c := diagnosed(t, res, tc.want, tc.class)
	if res.Report.Limited || len(c.NotChecked) != 0 {
		t.Errorf("with full reads some checks were not made: %+v", c.NotChecked)
	}
	if tc.check != nil {
		tc.check(t, ns, sv, c)
	}
	// The human form names the same cause and prints the same fix.
	text = runDoctorAs(t, rig.AdminKubeconfig, sv, append([]string{"-n", ns, "deployment/web"}, flags...)...)
	if text.Code != 1 || !strings.Contains(text.Stdout, string(tc.want)) || !strings.Contains(text.Stdout, c.Cause.Fix[0]) {
		t.Fatalf("text output (exit %d) lacks %s or its fix:\n%s", text.Code, tc.want, text.Stdout)
	}
	t.Logf("rotator doctor, with full reads, said:\n%s", text.Stdout)

	applyFix(t, c.Cause.Fix, subs)
	waitAvailable(t, ns, "web")
	for _, kc := range []string{rig.AdminKubeconfig, rig.DoctorKubeconfig} {
		after := runDoctorAs(t, kc, sv, "-n", ns, "deployment/web", "-o", "json")
		if after.Code != 0 || !after.Report.Healthy {
			t.Fatalf("after the fix (%s): exit %d:\n%s\n%s", filepath.Base(kc), after.Code, after.Stdout, after.Stderr)
		}
	}
	noSecretReadsSince(t, mark, ns)
}

// diagnosed checks that res names want (of class) for every failing container, with an
// explanation and a fix, and returns the first failing container.
func diagnosed(t *testing.T, res doctorResult, want doctor.Code, class doctor.Class) doctor.ContainerReport {
	t.Helper()
	if res.Code != 1 || res.Report.Healthy {
		t.Fatalf("doctor: exit %d, healthy %v; want 1 and problems:\n%s\n%s", res.Code, res.Report.Healthy, res.Stdout, res.Stderr)
	}
	failing := failingCauses(res.Report)
	if len(failing) == 0 {
		t.Fatalf("the doctor saw no failing container:\n%s", res.Stdout)
	}
	for _, c := range failing {
		if c.Cause.Code != want || c.Class != class {
			t.Fatalf("doctor named %s (class %s), want %s (class %s):\n%s", c.Cause.Code, c.Class, want, class, res.Stdout)
		}
		if c.Cause.Severity != doctor.SeverityError || c.Cause.Explanation == "" || len(c.Cause.Fix) == 0 {
			t.Fatalf("cause without severity, explanation or fix: %+v", c.Cause)
		}
	}
	return failing[0]
}

// A namespace whose pulls all work gets a clean bill, probed or not, with --all and by pod name;
// a key only kubelet matches is a warning, not a problem. Under the shipped role the bill is
// clean too, and says what it could not look at (the secrets, --probe's pull with them).
func TestDoctorHealthyNamespaceGetsACleanBill(t *testing.T) {
	ctx := context.Background()
	sv := &secretValues{}
	ns := namespaces(t, "doc-ok", 1)[0]
	r := sv.robotFor(t, "doc-ok-", "proj-a", "proj-b")
	pullSecret(t, ns, "pull", r.Username, r.Password)
	rawPullSecret(t, ns, "pull-scheme", corev1.SecretTypeDockerConfigJson, map[string][]byte{
		corev1.DockerConfigJsonKey: dockerConfig("http://"+rig.RegistryHost, r.Username, r.Password, basicAuth(r.Username, r.Password))})
	for _, o := range []any{
		sandbox.Deployment(ns, "web", rig.Images["proj-a"], "pull", 2),
		sandbox.Deployment(ns, "api", rig.Images["proj-b"], "pull-scheme", 1),
	} {
		if err := rig.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	waitAvailable(t, ns, "web")
	waitAvailable(t, ns, "api")

	mark := auditMark(t)
	for _, args := range [][]string{{"--all"}, {"--all", "--probe"}, {}} {
		res := runDoctor(t, sv, append([]string{"-n", ns, "-o", "json"}, args...)...)
		if res.Code != 0 || !res.Report.Healthy || !res.Report.Limited || len(res.Report.Pods) != 3 {
			t.Fatalf("doctor %v under the shipped role: exit %d, %d pods:\n%s\n%s", args, res.Code, len(res.Report.Pods), res.Stdout, res.Stderr)
		}
		for _, p := range res.Report.Pods {
			for _, c := range p.Containers {
				if c.Cause.Code != doctor.Healthy || c.Cause.Probed || len(c.Warnings) != 0 || notCheckedOf(c, doctor.CheckSecretContents) == nil ||
					(notCheckedOf(c, doctor.CheckProbe) != nil) != (len(args) == 2) {
					t.Errorf("pod %s under the shipped role with %v: %+v", p.Name, args, c)
				}
				checkNotChecked(t, ns, c)
			}
		}
	}
	noSecretReadsSince(t, mark, ns)
	for _, args := range [][]string{{"--all"}, {"--all", "--probe"}, {}} {
		res := runDoctorAs(t, rig.AdminKubeconfig, sv, append([]string{"-n", ns, "-o", "json"}, args...)...)
		if res.Code != 0 || !res.Report.Healthy || len(res.Report.Pods) != 3 {
			t.Fatalf("doctor %v: exit %d, %d pods:\n%s\n%s", args, res.Code, len(res.Report.Pods), res.Stdout, res.Stderr)
		}
		warned := 0
		for _, p := range res.Report.Pods {
			for _, c := range p.Containers {
				if c.Cause.Code != doctor.Healthy || c.Cause.Severity != doctor.SeverityOK {
					t.Fatalf("pod %s: %+v", p.Name, c.Cause)
				}
				if c.Cause.Probed != (len(args) == 2) {
					t.Errorf("pod %s probed = %v with %v", p.Name, c.Cause.Probed, args)
				}
				for _, w := range c.Warnings {
					if w.Code != doctor.AuthsKeyNotPortable || !strings.HasPrefix(p.Name, "api-") {
						t.Errorf("unexpected warning on %s: %+v", p.Name, w)
					}
					warned++
				}
			}
		}
		if warned != 1 {
			t.Errorf("want the scheme key of pull-scheme warned about once, got %d", warned)
		}
	}
	pods, err := rig.Admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatal(pods, err)
	}
	res := runDoctor(t, sv, "-n", ns, pods.Items[0].Name)
	if res.Code != 0 || !strings.Contains(res.Stdout, "healthy") || !strings.Contains(res.Stdout, "not checked SecretContents: could not read secret pull in namespace "+ns+": forbidden") {
		t.Fatalf("doctor POD: exit %d:\n%s", res.Code, res.Stdout)
	}
	t.Logf("rotator doctor, under its shipped role, said:\n%s", res.Stdout)
	res = runDoctorAs(t, rig.AdminKubeconfig, sv, "-n", ns, "deployment/api", "--probe")
	if res.Code != 0 || !strings.Contains(res.Stdout, string(doctor.AuthsKeyNotPortable)) {
		t.Fatalf("doctor deployment/api: exit %d:\n%s", res.Code, res.Stdout)
	}
	t.Logf("rotator doctor said:\n%s", res.Stdout)
	// The rotator's own ClusterRole does not carry the doctor's reads: run as the rotator, the
	// doctor stops at the first and names the role that grants it.
	res = runDoctorAs(t, rig.RotatorKubeconfig, sv, "-n", ns, pods.Items[0].Name)
	if res.Code != 1 || !strings.Contains(res.Stderr, "forbidden") || !strings.Contains(res.Stderr, "ClusterRole rotator-doctor") {
		t.Fatalf("doctor as the rotator: exit %d, want 1 and a forbidden read naming rotator-doctor:\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	// Usage errors: exit 2.
	for _, args := range [][]string{{"-n", ns, "web", "--all"}, {"-n", ns, "cronjob/x"}, {"-n", ns, "no-such-pod"}, {"-n", ns, "-o", "xml"}} {
		if res := runDoctor(t, sv, args...); res.Code != 2 {
			t.Errorf("doctor %v: exit %d, want 2:\n%s%s", args, res.Code, res.Stdout, res.Stderr)
		}
	}
}

// A secret the rotator manages whose robot was deleted at Harbor: with --probe and --config the
// doctor says what Harbor says, and its fix is a rotation, which makes the pod Running again.
func TestDoctorManagedCredentialRobotDeleted(t *testing.T) {
	ctx := context.Background()
	sv := &secretValues{}
	ns := namespaces(t, "doc-mgd", 1)[0]
	defaultServiceAccount(t, ns)
	cfg := rotatorConfig(t, cfgOpts{name: "doc-mgd", namespaces: []string{ns}, projects: []string{"proj-a"}})
	if err := rig.Apply(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg); res.Code != 0 {
		t.Fatalf("rotate now: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	waitAvailable(t, ns, "web")
	u, p := secretCredential(t, ns, "harbor-pull")
	sv.add(u, p)

	robots := robotsNamed("rotator-doc-mgd-")
	if len(robots) != 1 {
		t.Fatalf("want one robot, got %+v", robots)
	}
	id := robots[0].ID
	if err := harborAdmin(t).Revoke(ctx, providers.Spec{NamePrefix: "rotator-doc-mgd-", Projects: []string{"proj-a"}}, itoa(id)); err != nil {
		t.Fatal(err)
	}
	patch := `{"spec":{"template":{"metadata":{"annotations":{"test/restart":"1"}}}}}`
	if _, err := rig.Admin.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	pullFailure(t, ns, "web")

	// Under the shipped role: kubelet's 401 is known; what the secret holds, that the rotator
	// manages it and what Harbor says of its robot are not, and the doctor sent no Secret read.
	mark := auditMark(t)
	args := []string{"-n", ns, "deployment/web", "--probe", "--config", cfg, "-o", "json"}
	res := runDoctor(t, sv, args...)
	lc := diagnosed(t, res, doctor.PullSecretNotChecked, doctor.ClassAuth)
	if notCheckedOf(lc, doctor.CheckSecretContents) == nil || notCheckedOf(lc, doctor.CheckProbe) == nil || lc.Cause.Secret != "harbor-pull" {
		t.Errorf("under the shipped role: %+v", lc)
	}
	checkNotChecked(t, ns, lc)
	noSecretReadsSince(t, mark, ns, stateNS)

	// The team binds rotator-doctor-secrets in its namespace: the doctor reads the managed secret
	// there, asks Harbor about its robot, and says the rotator's state (in the rotator's own
	// namespace, holding live passwords) is still out of its reach.
	if err := rig.BindDoctorSecrets(ctx, ns); err != nil {
		t.Fatal(err)
	}
	mark = auditMark(t)
	res = runDoctor(t, sv, args...)
	c := diagnosed(t, res, doctor.RegistryRefused, doctor.ClassAuth).Cause
	if c.Credential != "doc-mgd" || !c.Probed {
		t.Fatalf("cause %+v", c)
	}
	for _, want := range []string{"no credential with id " + itoa(id), "it was deleted", "may not read the rotator's state (secret rotator-state-doc-mgd in namespace " + stateNS + ")"} {
		if !strings.Contains(c.Explanation, want) {
			t.Errorf("explanation lacks %q: %s", want, c.Explanation)
		}
	}
	st := notCheckedOf(failingCauses(res.Report)[0], doctor.CheckRotatorState)
	if st == nil || st.Secret != "rotator-state-doc-mgd" || st.Namespace != stateNS || !strings.Contains(st.Grant, "--resource-name rotator-state-doc-mgd") {
		t.Errorf("the rotator's state is not said to be unchecked: %+v", failingCauses(res.Report)[0].NotChecked)
	}
	if len(c.Fix) != 1 || !strings.HasPrefix(c.Fix[0], "rotator rotate now --config '"+doctor.PlaceholderConfig+"' --credential doc-mgd") {
		t.Fatalf("fix %q", c.Fix)
	}
	// The pod still running with the deleted robot's image is a problem too: a new pod fails.
	for _, pr := range res.Report.Pods {
		for _, cr := range pr.Containers {
			if cr.Waiting == "" && cr.Cause.Code != doctor.RegistryRefused {
				t.Errorf("running pod %s: %+v, want RegistryRefused (a new pod would fail)", pr.Name, cr.Cause)
			}
		}
	}
	reads := secretReadsSince(t, mark)
	for _, r := range reads {
		if !strings.HasPrefix(r, "get "+ns+"/harbor-pull (200)") {
			t.Errorf("with the RoleBinding in %s the doctor read %s: only that namespace's pull secret was to be read", ns, r)
		}
	}
	if len(reads) == 0 {
		t.Errorf("with the RoleBinding in %s the audit log shows no read of its pull secret", ns)
	}

	text := runDoctor(t, sv, "-n", ns, "deployment/web", "--probe", "--config", cfg)
	if text.Code != 1 || !strings.Contains(text.Stdout, c.Fix[0]) || !strings.Contains(text.Stdout, "not checked RotatorState") {
		t.Fatalf("text output: exit %d:\n%s", text.Code, text.Stdout)
	}
	t.Logf("rotator doctor, with the RoleBinding in %s, said:\n%s", ns, text.Stdout)

	// The cluster admin reads the state too.
	res = runDoctorAs(t, rig.AdminKubeconfig, sv, args...)
	if c := diagnosed(t, res, doctor.RegistryRefused, doctor.ClassAuth).Cause; !strings.Contains(c.Explanation, "current credential") {
		t.Errorf("with full reads the explanation lacks the rotator's state: %s", c.Explanation)
	}

	applyFix(t, c.Fix, map[string]string{doctor.PlaceholderConfig: cfg})
	waitAvailable(t, ns, "web")
	u, p = secretCredential(t, ns, "harbor-pull")
	sv.add(u, p)
	if after := runDoctor(t, sv, args...); after.Code != 0 {
		t.Fatalf("after the rotation: exit %d\n%s", after.Code, after.Stdout)
	}
}

// otherPort is a port other than p.
func otherPort(p string) string {
	if p == "5000" {
		return "5001"
	}
	return "5000"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
