package sim

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// Cluster is one Kubernetes cluster with its rotator. The harness reads and writes it through
// cs directly (tenants, invariants); the core only through a run's gated client.
type Cluster struct {
	w        *World
	Name     string
	cs       *fake.Clientset
	clock    *clocktesting.FakeClock
	skew     time.Duration // clock = world clock + skew
	stateUID string
	rv, uid  int64
	// lockHolder is the run holding the cluster's run lock.
	lockHolder *run
	nsSeq      int
	// partition: the cluster's API server cannot be reached for the next partition.runs runs
	// of it, from call partition.from of the first one (a partition in the middle of a run), as
	// a fleet member is cut off from the rotator. Its state and its run lock stay reachable: a
	// fleet keeps them in the rotator's own cluster (docs/fleet.md).
	partition struct{ runs, from int }
}

var bg = context.Background()

func newCluster(w *World, name, stateUID string) *Cluster {
	c := &Cluster{w: w, Name: name, stateUID: stateUID, clock: clocktesting.NewFakeClock(w.clock.Now())}
	c.cs = newClientset(c)
	c.mustCreate(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace, UID: types.UID(stateUID)}})
	c.addNamespace("team-a", false)
	c.addNamespace("team-b", false)
	c.addNamespace("team-c", true)
	return c
}

func (c *Cluster) mustCreate(obj any) {
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = c.cs.CoreV1().Namespaces().Create(bg, o, metav1.CreateOptions{})
	case *corev1.ServiceAccount:
		_, err = c.cs.CoreV1().ServiceAccounts(o.Namespace).Create(bg, o, metav1.CreateOptions{})
	case *appsv1.Deployment:
		_, err = c.cs.AppsV1().Deployments(o.Namespace).Create(bg, o, metav1.CreateOptions{})
	}
	if err != nil {
		panic(fmt.Sprintf("sim: seeding cluster %s: %v", c.Name, err))
	}
}

// addNamespace creates a tenant namespace with its ServiceAccount and two Deployments: "web"
// pulls app/web:1 through the ServiceAccount credential "main" binds, "cli" pulls tools/cli:1
// through credential "extra"'s secret named in its pod spec.
func (c *Cluster) addNamespace(ns string, selected bool) {
	meta := metav1.ObjectMeta{Name: ns}
	if selected {
		meta.Labels = map[string]string{selectorLabel: "yes"}
	}
	c.mustCreate(&corev1.Namespace{ObjectMeta: meta})
	c.mustCreate(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: pullerSA, Namespace: ns}})
	c.mustCreate(deployment(ns, "web", pullerSA, specOf("main").image, nil))
	c.mustCreate(deployment(ns, "cli", "", specOf("extra").image, []string{specOf("extra").secretName}))
}

// deployment is fully rolled out, and stays so (the fake has no controller): the rollout wait
// never blocks, whether or not the run skips it.
func deployment(ns, name, sa, image string, pullSecrets []string) *appsv1.Deployment {
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{
					ServiceAccountName: sa,
					Containers:         []corev1.Container{{Name: name, Image: image}},
				},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
	}
	for _, s := range pullSecrets {
		d.Spec.Template.Spec.ImagePullSecrets = append(d.Spec.Template.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	return d
}

// namespaceList is every namespace of the cluster, sorted by name. The harness reads the
// tracker directly: the clientset would record (and copy) every read as an action.
func (c *Cluster) namespaceList() []corev1.Namespace {
	obj, err := c.cs.Tracker().List(namespacesGVR, corev1.SchemeGroupVersion.WithKind("Namespace"), "")
	if err != nil {
		panic(err)
	}
	l := obj.(*corev1.NamespaceList)
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items
}

func (c *Cluster) namespaceExists(ns string) bool {
	_, err := c.cs.CoreV1().Namespaces().Get(bg, ns, metav1.GetOptions{})
	return err == nil
}

// view is a read of the whole cluster at one moment, for the invariants: one list of the
// namespaces and one of the Secrets, whatever the number of questions asked of it.
type view struct {
	c          *Cluster
	namespaces []corev1.Namespace
	secrets    map[string]*corev1.Secret // by namespace/name
}

func (c *Cluster) view() *view {
	v := &view{c: c, namespaces: c.namespaceList(), secrets: map[string]*corev1.Secret{}}
	for _, s := range c.secrets() {
		v.secrets[s.Namespace+"/"+s.Name] = &s
	}
	return v
}

// targets are the existing target namespaces of cred as the config defines them, sorted.
func (v *view) targets(cred *config.Credential) []string {
	sel, _ := labels.Parse(cred.Targets.NamespaceSelector)
	var out []string
	for _, ns := range v.namespaces {
		if ns.DeletionTimestamp != nil || slices.Contains(cred.Targets.ExcludeNamespaces, ns.Name) {
			continue
		}
		if slices.Contains(cred.Targets.Namespaces, ns.Name) || (cred.Targets.NamespaceSelector != "" && sel.Matches(labels.Set(ns.Labels))) {
			out = append(out, ns.Name)
		}
	}
	return out
}

func (v *view) namespaceExists(ns string) bool {
	for _, n := range v.namespaces {
		if n.Name == ns {
			return true
		}
	}
	return false
}

// secret is Secret ns/name, or nil.
func (v *view) secret(ns, name string) *corev1.Secret { return v.secrets[ns+"/"+name] }

// managedSecret is cred's managed Secret in ns, or nil (missing, or not marked as managed).
func (v *view) managedSecret(ns, cred string) *corev1.Secret {
	s := v.secret(ns, specOf(cred).secretName)
	if s == nil || !secretsync.IsManaged(s, cred) {
		return nil
	}
	return s
}

// pulls reports whether cred's managed Secret in ns lets kubelet pull the credential's image.
func (v *view) pulls(ns, cred string) bool {
	s := v.managedSecret(ns, cred)
	return s != nil && v.c.w.registry.pullAsKubelet(specOf(cred).image, []corev1.Secret{*s}) == nil
}

// foreign reports whether a tenant put a same-named Secret in ns that is not (or no longer)
// marked managed: the rotator must leave it alone.
func (v *view) foreign(ns, cred string) bool {
	s := v.secret(ns, specOf(cred).secretName)
	return s != nil && !secretsync.IsManaged(s, cred)
}

// immutable reports whether cred's secret in ns was made immutable.
func (v *view) immutable(ns, cred string) bool {
	s := v.secret(ns, specOf(cred).secretName)
	return s != nil && s.Immutable != nil && *s.Immutable
}

// describe says what cred's secret in ns holds, for a violation's detail.
func (v *view) describe(ns, cred string) string {
	s := v.secret(ns, specOf(cred).secretName)
	switch {
	case !v.namespaceExists(ns):
		return "namespace gone"
	case s == nil:
		return "no secret"
	case !secretsync.IsManaged(s, cred):
		return "secret not marked managed"
	}
	w := v.c.w
	id := s.Annotations[secretsync.AnnotationCredentialID]
	out := "holds id " + id
	if b := w.provider.robot(id); b != nil {
		out = "holds " + b.String()
		if !b.live(w.clock.Now()) && !b.Deleted && !b.Disabled {
			out += " (expired)"
		}
	}
	if s.Immutable != nil && *s.Immutable {
		out += ", immutable"
	}
	return out
}

// loadState reads the state the core persisted for cred (empty when there is none).
func (c *Cluster) loadState(cred string) (*state.State, error) {
	return (&state.Store{Client: c.cs, Namespace: stateNamespace}).Load(bg, cred)
}

// secrets is every Secret of the cluster, sorted by namespace and name.
func (c *Cluster) secrets() []corev1.Secret {
	obj, err := c.cs.Tracker().List(corev1.SchemeGroupVersion.WithResource("secrets"), corev1.SchemeGroupVersion.WithKind("Secret"), metav1.NamespaceAll)
	if err != nil {
		panic(err)
	}
	l := obj.(*corev1.SecretList)
	sort.Slice(l.Items, func(i, j int) bool {
		a, b := l.Items[i], l.Items[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	return l.Items
}

// stateSummary names the credentials cred's state knows, for the replay's trace.
func (c *Cluster) stateSummary(cred string) string {
	st, err := c.loadState(cred)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var parts []string
	if st.Current != nil {
		parts = append(parts, "current "+st.Current.ID)
	}
	if st.Pending != nil {
		pw := ""
		if st.Pending.Password == "" {
			pw = " (no password)"
		}
		parts = append(parts, "pending "+st.Pending.ID+pw)
	}
	for _, r := range st.Retired {
		parts = append(parts, "retired "+r.ID)
	}
	if len(parts) == 0 {
		return "empty"
	}
	return strings.Join(parts, ", ")
}
