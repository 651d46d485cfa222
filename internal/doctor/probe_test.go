package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/verify/verifytest"
	"github.com/rotatorhq/rotator/providers"
)

const oldUser, oldPass = "robot$shop+old", "Old-pa55word-never-shown"

// With Probe the doctor asks the registry with the pod's secrets as kubelet would use them.
func TestProbe(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: map[string]verifytest.User{
		testUser: {Password: testPass, Grant: verifytest.GrantPull},
		oldUser:  {Password: oldPass, Grant: verifytest.GrantNone}, // an expired robot: token, then 401
	}})
	reg.Push(t, "shop/app:1")
	image := reg.Image("shop/app:1")
	good := goodSecret(testNS, "pull", reg.Host)
	old := secret(testNS, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: doc(reg.Host, oldUser, oldPass, auth(oldUser, oldPass))})
	tests := []struct {
		name    string
		objs    []runtime.Object
		want    Code
		sev     Severity
		summary string
	}{
		{"failing, refused", append(failingPod(image, unauthorized, "pull"), old), RegistryRefused, SeverityError, "refuses the credential"},
		{"failing, fixed since", append(failingPod(image, unauthorized, "pull"), good), PullSucceedsNow, SeverityError, "succeeds"},
		{"running, refused now", []runtime.Object{pod("web-1", image, "", "", "pull"), old}, RegistryRefused, SeverityError, "a new pod would fail"},
		{"running, accepted", []runtime.Object{pod("web-1", image, "", "", "pull"), good}, Healthy, SeverityOK, "accepts"},
		{"failing, tag missing", append(failingPod(reg.Image("shop/app:nope"), unauthorized, "pull"), good), ImageNotFound, SeverityError, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := diagnose(t, &Doctor{Probe: true}, tt.objs...)
			for _, v := range []string{oldPass, auth(oldUser, oldPass)} {
				if strings.Contains(dump(t, rep), v) {
					t.Fatal("the report holds a secret value")
				}
			}
			c := only(t, rep)
			if c.Cause.Code != tt.want || c.Cause.Severity != tt.sev || !strings.Contains(c.Cause.Summary, tt.summary) || !c.Cause.Probed {
				t.Fatalf("cause %+v", c.Cause)
			}
			if rep.Healthy != (tt.sev == SeverityOK) || !rep.Probed {
				t.Errorf("healthy %v probed %v", rep.Healthy, rep.Probed)
			}
		})
	}
	// Without Probe nothing is sent to the registry.
	before := len(reg.Requests())
	diagnose(t, nil, append(failingPod(image, unauthorized, "pull"), old)...)
	if len(reg.Requests()) != before {
		t.Errorf("the doctor contacted the registry without Probe")
	}
}

// fakeProvider answers List with fixed credentials and records nothing else: the doctor never
// issues or revokes.
type fakeProvider struct {
	owned []providers.Owned
	specs []providers.Spec
}

// adminFakeProvider is a provider whose admin identity is broken (adminErr), as gitlab.Provider
// reports an expired admin token.
type adminFakeProvider struct {
	fakeProvider
	adminErr error
}

func (f *adminFakeProvider) CheckAdmin(context.Context) error { return f.adminErr }

func (f *fakeProvider) Issue(context.Context, providers.Spec) (providers.Credential, error) {
	panic("the doctor must not issue credentials")
}

func (f *fakeProvider) Revoke(context.Context, providers.Spec, string) error {
	panic("the doctor must not revoke credentials")
}

func (f *fakeProvider) List(_ context.Context, s providers.Spec) ([]providers.Owned, error) {
	f.specs = append(f.specs, s)
	return f.owned, nil
}

// For a secret the rotator manages, the doctor tells what the secret's annotations, the
// rotator's state and the provider say, and the fix is a rotation.
func TestManagedCredentialFacts(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: map[string]verifytest.User{oldUser: {Password: oldPass, Grant: verifytest.GrantNone}}})
	reg.Push(t, "shop/app:1")
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	managed := func(id, expires string) *corev1.Secret {
		s := secret(testNS, "harbor-pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: doc(reg.Host, oldUser, oldPass, auth(oldUser, oldPass))})
		s.Labels = map[string]string{"app.kubernetes.io/managed-by": "rotator", "rotator.dev/credential": "harbor-main"}
		s.Annotations = map[string]string{"rotator.dev/credential-id": id, "rotator.dev/credential-name": "robot$shop+rotator-harbor-main-" + id}
		if expires != "" {
			s.Annotations["rotator.dev/expires-at"] = expires
		}
		return s
	}
	st := &state.State{
		Current: &state.Issued{ID: "12", Name: "robot$shop+rotator-harbor-main-12", Password: "Current-pa55word-never-shown"},
		Retired: []state.Retired{{ID: "11", Name: "robot$shop+rotator-harbor-main-11", RetiredAt: now.Add(-2 * time.Hour), RevokeAt: now.Add(-time.Hour)}},
	}
	tests := []struct {
		name   string
		secret *corev1.Secret
		image  string
		owned  []providers.Owned
		admin  error
		facts  []string
	}{
		{"deleted at the provider", managed("12", ""), reg.Image("shop/app:1"), nil, nil,
			[]string{"holds robot$shop+rotator-harbor-main-12 (id 12)", "it is the rotator's current credential", "no credential with id 12 any more: it was deleted"}},
		{"expired", managed("12", "2026-11-20T00:00:00Z"), reg.Image("shop/app:1"),
			[]providers.Owned{{ID: "12", Name: "robot$shop+rotator-harbor-main-12", ExpiresAt: now.Add(-time.Hour)}}, nil,
			[]string{"it expired at 2026-11-20T00:00:00Z", "the provider says robot$shop+rotator-harbor-main-12 expired"}},
		{"left behind by a rotation", managed("11", ""), reg.Image("shop/app:1"), []providers.Owned{{ID: "12"}}, nil,
			[]string{"current credential is robot$shop+rotator-harbor-main-12 (id 12): this secret was left behind", "retired it at", "was due to be revoked at"}},
		{"image outside the credential's projects", managed("12", ""), reg.Image("billing/app:1"), []providers.Owned{{ID: "12", Name: "robot$shop+rotator-harbor-main-12"}}, nil,
			[]string{"still lists robot$shop+rotator-harbor-main-12, enabled", "may pull from shop only; repository billing/app is in none of them"}},
		{"renamed by a change of Harbor's robot prefix", managed("12", ""), reg.Image("shop/app:1"),
			[]providers.Owned{{ID: "12", Name: "robot-shop+rotator-harbor-main-12"}}, nil,
			[]string{"renamed it to robot-shop+rotator-harbor-main-12 (a change of Harbor's robot name prefix?): the secret's username robot$shop+rotator-harbor-main-12 no longer logs in"}},
		{"admin token expired", managed("12", ""), reg.Image("shop/app:1"),
			[]providers.Owned{{ID: "12", Name: "robot$shop+rotator-harbor-main-12"}}, errors.New(`the admin token "rotator" has expired (2026-11-01)`),
			[]string{`the rotator's admin identity cannot replace it: the admin token "rotator" has expired (2026-11-01)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := newKube(append(failingPod(tt.image, unauthorized, "harbor-pull"), tt.secret)...)
			if err := (&state.Store{Client: kube, Namespace: "rotator-system"}).Save(context.Background(), "harbor-main", st); err != nil {
				t.Fatal(err)
			}
			prov := &adminFakeProvider{fakeProvider: fakeProvider{owned: tt.owned}, adminErr: tt.admin}
			d := &Doctor{Kube: kube, Probe: true, Clock: clocktesting.NewFakePassiveClock(now), StateNamespace: "rotator-system",
				Credentials: map[string]ManagedCredential{"harbor-main": {Provider: prov, Spec: providers.Spec{Credential: "harbor-main", NamePrefix: "rotator-harbor-main-", Projects: []string{"shop"}}}}}
			rep := diagnose(t, d)
			if strings.Contains(dump(t, rep), "Current-pa55word-never-shown") || strings.Contains(dump(t, rep), oldPass) {
				t.Fatal("the report holds a secret value")
			}
			c := only(t, rep)
			if c.Cause.Code != RegistryRefused || c.Cause.Credential != "harbor-main" {
				t.Fatalf("cause %+v", c.Cause)
			}
			if len(c.Cause.Fix) != 1 || c.Cause.Fix[0] != "rotator rotate now --config '<config.yaml>' --credential harbor-main" {
				t.Errorf("fix %q", c.Cause.Fix)
			}
			for _, f := range tt.facts {
				if !strings.Contains(c.Cause.Explanation, f) {
					t.Errorf("explanation lacks %q:\n%s", f, c.Cause.Explanation)
				}
			}
			if len(prov.specs) != 1 || prov.specs[0].NamePrefix != "rotator-harbor-main-" {
				t.Errorf("provider asked with %+v", prov.specs)
			}
		})
	}
	// Without Probe the provider is not asked.
	kube := newKube(append(failingPod(reg.Image("shop/app:1"), unauthorized, "harbor-pull"), managed("12", ""))...)
	prov := &fakeProvider{}
	d := &Doctor{Kube: kube, Credentials: map[string]ManagedCredential{"harbor-main": {Provider: prov}}}
	if c := only(t, diagnose(t, d)); c.Cause.Code != RegistryRefused || c.Cause.Probed || len(prov.specs) != 0 {
		t.Errorf("cause %+v, provider asked %d times", c.Cause, len(prov.specs))
	}
}
