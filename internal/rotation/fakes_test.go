package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/providers"
)

// t0 is the fixed start of every table test's clock.
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// fakeProvider is an in-memory Harbor: credentials by id, with a log of the calls made.
type fakeProvider struct {
	next  int
	creds map[string]*fakeCred
	calls []string
	// failIssue, failList, failRevoke make those calls fail.
	failIssue, failList, failRevoke error
	// brokenIssue hands out a wrong password, as a credential the registry will refuse.
	brokenIssue bool
	// hideFromList leaves this id out of List (listed among another scope's credentials).
	hideFromList string
}

type fakeCred struct {
	providers.Owned
	password string
}

func newFakeProvider() *fakeProvider { return &fakeProvider{creds: map[string]*fakeCred{}} }

func (f *fakeProvider) Issue(_ context.Context, spec providers.Spec) (providers.Credential, error) {
	f.calls = append(f.calls, "issue")
	if f.failIssue != nil {
		return providers.Credential{}, f.failIssue
	}
	f.next++
	id := strconv.Itoa(100 + f.next)
	c := &fakeCred{Owned: providers.Owned{ID: id, Name: "robot$" + spec.Name, GivenName: spec.Name, IssuedAt: t0,
		ExpiresAt: t0.Add(spec.Lifetime)}, password: "pw-" + id}
	f.creds[id] = c
	if f.brokenIssue {
		return providers.Credential{Owned: c.Owned, Username: c.Name, Password: "wrong"}, nil
	}
	return providers.Credential{Owned: c.Owned, Username: c.Name, Password: c.password}, nil
}

func (f *fakeProvider) Revoke(_ context.Context, _ providers.Spec, id string) error {
	f.calls = append(f.calls, "revoke "+id)
	if f.failRevoke != nil {
		return f.failRevoke
	}
	delete(f.creds, id)
	return nil
}

func (f *fakeProvider) List(_ context.Context, spec providers.Spec) ([]providers.Owned, error) {
	f.calls = append(f.calls, "list")
	if f.failList != nil {
		return nil, f.failList
	}
	var out []providers.Owned
	for _, c := range f.creds {
		if strings.HasPrefix(c.GivenName, spec.NamePrefix) && c.ID != f.hideFromList {
			out = append(out, c.Owned)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// add puts a credential at the provider that the rotator did not issue in this test.
func (f *fakeProvider) add(id, given string) {
	f.creds[id] = &fakeCred{Owned: providers.Owned{ID: id, Name: "robot$" + given, GivenName: given, IssuedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}, password: "pw-" + id}
}

// live reports whether username/password log in.
func (f *fakeProvider) live(user, pass string, now time.Time) bool {
	for _, c := range f.creds {
		if c.Name == user && c.password == pass && !c.Disabled && (c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt)) {
			return true
		}
	}
	return false
}

// fakeRegistry answers pull checks from what the provider holds live.
type fakeRegistry struct {
	prov  *fakeProvider
	clock *clocktesting.FakeClock
	// down makes every check fail as an unreachable registry.
	down bool
	// answer, when set, is the registry's answer to an authorised request (a 404, a 412).
	answer error
	// refuseUser and refuseImage: usernames with this prefix may not pull this image (403), as
	// a credential that lacks a project.
	refuseUser, refuseImage string
	// refuseAll: this username is refused for every image (its permissions were taken away).
	refuseAll string
	// lag: the token service knows a credential only from its second check on (a replica that
	// has not seen the new robot yet); seen records the usernames checked once.
	lag  bool
	seen map[string]bool
}

// PullCheckFresh keeps verify.Checker's contract: a first refusal is checked once more.
func (r *fakeRegistry) PullCheckFresh(ctx context.Context, image string, auth authn.Authenticator) error {
	err := r.PullCheck(ctx, image, auth)
	if verify.CredentialRefused(err) {
		err = r.PullCheck(ctx, image, auth)
	}
	return err
}

func (r *fakeRegistry) PullCheck(ctx context.Context, image string, auth authn.Authenticator) error {
	if r.down {
		return &verify.PullError{Image: image, Reason: verify.ReasonNetwork, Detail: "connection refused"}
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return err
	}
	if r.lag && !r.seen[cfg.Username] {
		if r.seen == nil {
			r.seen = map[string]bool{}
		}
		r.seen[cfg.Username] = true
		return &verify.PullError{Image: image, Reason: verify.ReasonUnauthorized, Stage: verify.StageToken, Detail: "401 Unauthorized"}
	}
	if cfg.Username == r.refuseAll {
		return &verify.PullError{Image: image, Reason: verify.ReasonDenied, Stage: verify.StageManifest, Status: 403, Detail: "denied"}
	}
	if r.refuseUser != "" && image == r.refuseImage && strings.HasPrefix(cfg.Username, r.refuseUser) && !r.isCurrent(cfg.Username) {
		return &verify.PullError{Image: image, Reason: verify.ReasonDenied, Stage: verify.StageManifest, Status: 403, Detail: "denied"}
	}
	if !r.prov.live(cfg.Username, cfg.Password, r.clock.Now()) {
		return &verify.PullError{Image: image, Reason: verify.ReasonUnauthorized, Stage: verify.StageToken, Status: 401, Detail: "unauthorized"}
	}
	return r.answer
}

// isCurrent: the credential issued first (id 101) keeps its access in the refusal tests.
func (r *fakeRegistry) isCurrent(user string) bool {
	c, ok := r.prov.creds["101"]
	return ok && c.Name == user
}

func (r *fakeRegistry) PullCheckAsKubelet(ctx context.Context, image string, secrets []corev1.Secret) error {
	for _, s := range secrets {
		cfg, err := pullsecret.Parse(s.Data[corev1.DockerConfigJsonKey])
		if err != nil {
			continue
		}
		for _, e := range cfg.Auths {
			if err := r.PullCheck(ctx, image, authn.FromConfig(authn.AuthConfig{Username: e.Username, Password: e.Password})); err == nil || verify.Authorised(err) {
				return err
			}
		}
	}
	return &verify.PullError{Image: image, Reason: verify.ReasonUnauthorized, Status: 401, Detail: "unauthorized"}
}

// world is one table test's cluster, provider, registry and clock.
type world struct {
	t     *testing.T
	kube  *fake.Clientset
	prov  *fakeProvider
	reg   *fakeRegistry
	clock *clocktesting.FakeClock
	cfg   *config.Config
}

const testImage = "harbor.test/proj/app:1"

func newWorld(t *testing.T, namespaces ...string) *world {
	t.Helper()
	objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rotator-system", UID: types.UID("0a1b2c3d-0000-0000-0000-000000000000")}}}
	for _, ns := range namespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	w := &world{t: t, kube: fake.NewClientset(objs...), prov: newFakeProvider(), clock: clocktesting.NewFakeClock(t0)}
	w.reg = &fakeRegistry{prov: w.prov, clock: w.clock}
	withResourceVersions(w.kube)
	w.cfg = &config.Config{Credentials: []config.Credential{{
		Name: "h", Provider: "harbor", Harbor: &config.Harbor{URL: "https://harbor.test", Username: "admin",
			PasswordFrom: config.SecretRef{Env: "X"}, Projects: []string{"proj"}},
		VerifyImages: []string{testImage},
		Targets:      config.Targets{SecretName: "pull", Namespaces: namespaces},
		RevokeAfter:  config.NewDuration(0),
	}}}
	config.Default(w.cfg)
	w.cfg.Kubernetes.Concurrency = 1
	return w
}

// workload creates a Deployment in ns whose pods name the managed secret (and others).
func (w *world) workload(ns, name, image string, otherSecrets ...string) {
	w.t.Helper()
	refs := []corev1.LocalObjectReference{{Name: "pull"}}
	for _, s := range otherSecrets {
		refs = append(refs, corev1.LocalObjectReference{Name: s})
	}
	w.deployment(ns, name, image, 1, refs, nil)
}

// deployment creates a Deployment selecting pods labelled app=name; refs are its template's
// imagePullSecrets (none: its pods get their ServiceAccount's), ann its own annotations.
func (w *world) deployment(ns, name, image string, replicas int32, refs []corev1.LocalObjectReference, ann map[string]string) {
	w.t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				ImagePullSecrets: refs, Containers: []corev1.Container{{Name: "c", Image: image}}}}}}
	if _, err := w.kube.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// pod creates a running pod of the Deployment app in ns, naming secrets in its
// imagePullSecrets; waiting, when set, is the pull failure its container waits in.
func (w *world) pod(ns, app, name, image, waiting string, secrets ...string) {
	w.t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, s := range secrets {
		p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	if waiting != "" {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", Image: image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}}}}
	}
	if _, err := w.kube.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) cred() *config.Credential { return &w.cfg.Credentials[0] }

func (w *world) runner() *Runner {
	return &Runner{Config: w.cfg, Kube: w.kube, Providers: map[string]providers.Provider{"h": w.prov},
		Checkers: map[string]RegistryChecker{"h": w.reg}, Clock: w.clock}
}

func (w *world) rotate(opts Options) *Report {
	w.t.Helper()
	opts.SkipRolloutWait = true
	return w.runner().Rotate(context.Background(), w.cred(), opts)
}

func (w *world) state() *state.State {
	w.t.Helper()
	st, err := (&state.Store{Client: w.kube, Namespace: "rotator-system"}).Load(context.Background(), "h")
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// heldID is the credential id the managed Secret of ns holds ("" if none).
func (w *world) heldID(ns string) string {
	s, err := w.kube.CoreV1().Secrets(ns).Get(context.Background(), "pull", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return s.Annotations[secretsync.AnnotationCredentialID]
}

// pulls reports whether the managed Secret of ns pulls testImage.
func (w *world) pulls(ns string) bool {
	s, err := w.kube.CoreV1().Secrets(ns).Get(context.Background(), "pull", metav1.GetOptions{})
	if err != nil {
		return false
	}
	return w.reg.PullCheckAsKubelet(context.Background(), testImage, []corev1.Secret{*s}) == nil
}

// stateJSON is the state without passwords, for failure messages.
func (w *world) stateJSON() string {
	b, _ := json.Marshal(w.state())
	return string(b)
}

var (
	errDown      = errors.New("503 service unavailable")
	errDenied    = errors.New(`admission webhook "policy.example.com" denied the request: secrets in this namespace are frozen`)
	errImmutable = errors.New(`secret "pull" is invalid: data: Forbidden: field is immutable when ` + "`immutable`" + ` is set`)
)

func must(t *testing.T, rep *Report, want Result) {
	t.Helper()
	if rep.Result != want {
		t.Fatalf("result %s, want %s; errors %v; warnings %v", rep.Result, want, rep.Errors, rep.Warnings)
	}
}

func fmtCalls(calls []string) string { return fmt.Sprintf("%q", calls) }

// withResourceVersions makes the fake API server keep resourceVersions as the real one does:
// each write sets a new one, and an update that carries a stale one is a conflict. The state
// Store depends on both.
func withResourceVersions(c *fake.Clientset) {
	rv := 0
	c.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		var obj runtime.Object
		// By verb: CreateAction and UpdateAction have the same methods, so a type switch
		// would take every update for a create.
		switch a.GetVerb() {
		case "create":
			obj = a.(k8stesting.CreateAction).GetObject()
		case "update":
			a := a.(k8stesting.UpdateAction)
			obj = a.GetObject()
			m, err := meta.Accessor(obj)
			if err != nil {
				return false, nil, nil
			}
			cur, err := c.Tracker().Get(a.GetResource(), a.GetNamespace(), m.GetName())
			if err != nil {
				return false, nil, nil
			}
			cm, _ := meta.Accessor(cur)
			if m.GetResourceVersion() != "" && m.GetResourceVersion() != cm.GetResourceVersion() {
				return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), m.GetName(), errors.New("the object has been modified"))
			}
		default:
			return false, nil, nil
		}
		if m, err := meta.Accessor(obj); err == nil {
			rv++
			m.SetResourceVersion(strconv.Itoa(rv))
		}
		return false, nil, nil
	})
}
