package rotation

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/providers"
)

// snapshot is everything a run knows before it decides: read once, then fixed. Every decision
// is taken from it (decide.go), so the dry run and the run decide the same.
type snapshot struct {
	state *state.State
	// installTag identifies this installation (cluster + state namespace) in the names of the
	// credentials it creates: two clusters sharing a provider, a prefix and a config never
	// take each other's credentials for their own. "" when the state namespace is missing.
	installTag string
	// namespaces are the existing target namespaces, sorted.
	namespaces []string
	// secrets are the managed Secrets found, by namespace.
	secrets map[string]*corev1.Secret
	// inTheWay are the target namespaces holding a Secret of the managed name that is not the
	// rotator's to write (secretsync.Owner): a run refuses it, so the dry run says so.
	inTheWay map[string]bool
	// holds is the provider id of the credential each target namespace's managed Secret holds
	// (its rotator.dev/credential-id): read from the snapshot, then kept up to date by every
	// write of the run. A credential is never revoked while a target namespace holds it.
	holds map[string]string
	// serviceAccounts found among the configured names, by namespace and name.
	serviceAccounts serviceAccounts
	// workloads depending on the secret (counting ServiceAccounts about to be bound).
	workloads []restart.Workload
	// pods of the namespaces whose dependents the policy judges by their pods (readPods), by
	// namespace.
	pods map[string][]corev1.Pod
	// owned is the provider's list of this credential's credentials; listErr why it is
	// missing (then nothing is judged dead and no orphan is looked for).
	owned   []providers.Owned
	listErr error
}

// serviceAccounts are ServiceAccounts by namespace and name: one map for every target namespace,
// where a map per namespace would take a few hundred bytes each (3 MB at 10,000 namespaces).
type serviceAccounts map[saKey]*corev1.ServiceAccount

type saKey struct{ namespace, name string }

// get is the ServiceAccount name of namespace ns (nil: not found).
func (s serviceAccounts) get(ns, name string) *corev1.ServiceAccount { return s[saKey{ns, name}] }

// installTag: 8 hex digits of the state namespace's UID.
func installTag(uid types.UID) string {
	t := strings.ReplaceAll(strings.ToLower(string(uid)), "-", "")
	if len(t) < 8 {
		return ""
	}
	return t[:8]
}

// read fills the snapshot: state, namespaces, managed secrets, ServiceAccounts, dependent
// workloads, and the provider's list. A failure to read the cluster fails the run; a failure
// to list at the provider only makes the run more careful (snapshot.listErr).
func (r *Runner) read(ctx context.Context, p *plan) error {
	var err error
	if p.state, err = r.store().Load(ctx, p.cred.Name); err != nil {
		return err
	}
	for _, step := range []func(context.Context, *plan) error{r.resolveNamespaces, r.listSecrets, r.listServiceAccounts, r.discoverWorkloads} {
		if err := step(ctx, p); err != nil {
			return err
		}
	}
	prov, ok := r.Providers[p.cred.Name]
	if !ok {
		return fmt.Errorf("credential %s: no provider configured", p.cred.Name)
	}
	cctx, cancel := providerCall(ctx)
	defer cancel()
	if p.owned, p.listErr = prov.List(cctx, p.spec); p.listErr != nil {
		p.listErr = fmt.Errorf("list the credential's own credentials at the provider: %w", p.listErr)
	}
	return nil
}

// resolveNamespaces: the namespaces config.Targets.Selects (listed or matched by the selector,
// not excluded), the rule the service's namespace reconcile applies too. One paged list,
// whatever the number of namespaces, or none from r.Observed.
func (r *Runner) resolveNamespaces(ctx context.Context, p *plan) error {
	t := p.cred.Targets
	existing := map[string]bool{}
	see := func(ns metav1.Object) {
		if ns.GetName() == r.Config.StateNamespace {
			p.installTag = installTag(ns.GetUID())
		}
		if ns.GetDeletionTimestamp() != nil {
			return
		}
		existing[ns.GetName()] = true
		if t.Selects(ns.GetName(), ns.GetLabels()) {
			p.namespaces = append(p.namespaces, ns.GetName())
		}
	}
	if r.Observed != nil {
		for _, ns := range r.Observed.Namespaces() {
			see(ns)
		}
	} else {
		err := listPages(ctx, namespacePageSize, func(ctx context.Context, o metav1.ListOptions) (string, error) {
			l, err := r.Kube.CoreV1().Namespaces().List(ctx, o)
			if err != nil {
				return "", err
			}
			for i := range l.Items {
				see(&l.Items[i])
			}
			return l.Continue, nil
		})
		if err != nil {
			return fmt.Errorf("list namespaces: %w", err)
		}
	}
	if r.Installation != "" { // a fleet member: no state namespace of the rotator there
		p.installTag = r.Installation
	}
	for _, ns := range t.Namespaces {
		if !existing[ns] {
			p.problems = append(p.problems, fmt.Sprintf("namespace %s does not exist: create it or remove it from credentials[%s].targets.namespaces", ns, p.cred.Name))
		}
	}
	sort.Strings(p.namespaces)
	if len(p.namespaces) == 0 && len(p.problems) == 0 {
		p.problems = append(p.problems, "no target namespace: the namespace list and selector match no existing namespace")
	}
	return nil
}

// listSecrets finds this credential's managed Secrets in one list across the cluster, of the
// Secrets of the managed name only (or in r.Observed): RBAC authorises a list with a
// metadata.name field selector by resourceNames, so the rotator's identity needs no right to list
// any other Secret (deploy/base/managed-secret-names.yaml). The ownership check is made here, on
// each one.
func (r *Runner) listSecrets(ctx context.Context, p *plan) error {
	p.secrets = map[string]*corev1.Secret{}
	p.holds = map[string]string{}
	p.inTheWay = map[string]bool{}
	owner := ownerOf(p.cred, p.state)
	targets := setOf(p.namespaces)
	name := p.cred.Targets.SecretName
	see := func(s *corev1.Secret) {
		if !targets[s.Namespace] || s.Name != name {
			return
		}
		if !owner.Owns(s) {
			p.inTheWay[s.Namespace] = true
		}
		// Labelled or carrying one of the state's ids: the labelled ones tell a lost state
		// what the namespaces hold (rebuild); the writes ask secretsync.Owner.
		if secretsync.IsManaged(s, p.cred.Name) || p.state.Ours(s.Annotations[secretsync.AnnotationCredentialID]) {
			p.secrets[s.Namespace] = s
			if id := s.Annotations[secretsync.AnnotationCredentialID]; id != "" {
				p.holds[s.Namespace] = id
			}
		}
	}
	if r.Observed != nil {
		if cached, ok := r.Observed.Secrets(name); ok {
			for _, s := range cached {
				see(s)
			}
			return nil
		}
	}
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return listPages(ctx, tenantPageSize, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		o.FieldSelector = sel
		l, err := r.Kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, o)
		if err != nil {
			return "", fmt.Errorf("list managed secrets: %w", err)
		}
		for i := range l.Items {
			see(&l.Items[i])
		}
		return l.Continue, nil
	})
}

// listServiceAccounts reads the configured ServiceAccounts, from r.Observed when it watches
// every configured name. With one configured name a field selector keeps the list small; in
// any case it is one paged list, not a GET per namespace.
func (r *Runner) listServiceAccounts(ctx context.Context, p *plan) error {
	p.serviceAccounts = make(serviceAccounts, len(p.namespaces))
	names := p.cred.Targets.ServiceAccounts
	if len(names) == 0 {
		return nil
	}
	targets, wanted := setOf(p.namespaces), setOf(names)
	see := func(sa *corev1.ServiceAccount) {
		if !targets[sa.Namespace] || !wanted[sa.Name] {
			return
		}
		p.serviceAccounts[saKey{sa.Namespace, sa.Name}] = sa
	}
	if cached, ok := r.observedServiceAccounts(names); ok {
		for _, sa := range cached {
			see(sa)
		}
		return nil
	}
	var fieldSel string
	if len(names) == 1 {
		fieldSel = fields.OneTermEqualSelector("metadata.name", names[0]).String()
	}
	return listPages(ctx, tenantPageSize, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		o.FieldSelector = fieldSel
		l, err := r.Kube.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, o)
		if err != nil {
			return "", fmt.Errorf("list serviceaccounts: %w", err)
		}
		for i := range l.Items {
			see(&l.Items[i])
		}
		return l.Continue, nil
	})
}

// observedServiceAccounts: the ServiceAccounts of every name in r.Observed, or false when one
// of the names is not watched there.
func (r *Runner) observedServiceAccounts(names []string) ([]*corev1.ServiceAccount, bool) {
	if r.Observed == nil {
		return nil, false
	}
	var out []*corev1.ServiceAccount
	for _, n := range names {
		sas, ok := r.Observed.ServiceAccounts(n)
		if !ok {
			return nil, false
		}
		out = append(out, sas...)
	}
	return out, true
}

// discoverWorkloads finds the dependent workloads of every target namespace in one paged list
// per kind across the cluster. Three lists per namespace would cost 6,000 requests to plan
// 2,000 namespaces, and a run with nothing due must not grow per namespace.
func (r *Runner) discoverWorkloads(ctx context.Context, p *plan) error {
	bound := setOf(p.cred.Targets.ServiceAccounts)
	secret := p.cred.Targets.SecretName
	ws, err := restart.DiscoverIn(ctx, r.Kube, setOf(p.namespaces), secret, func(ns, sa string) bool {
		// Bound after this run either way: configured, or already carrying the secret.
		if bound[sa] {
			return true
		}
		s, ok := p.serviceAccounts[saKey{ns, sa}]
		return ok && secretsync.HasPullSecret(s, secret)
	})
	if err != nil {
		return err
	}
	p.workloads = ws
	return nil
}

// readPods lists the pods of each namespace where decideRestarts judges a workload by its pods
// (policy IfNeeded or Canary, a candidate namespace, no override annotation): one paged list per
// such namespace, the page size of the other lists. It runs after the credential is decided, since
// a repair judges only the namespaces it changes: a run with nothing due lists no pod. It keeps
// of each pod only what the judgement reads (restart.ForAssess).
func (r *Runner) readPods(ctx context.Context, p *plan) error {
	p.pods = map[string][]corev1.Pod{}
	if !needsPods(p.cred.Restart.Policy) {
		return nil
	}
	candidates := p.restartCandidates()
	want := map[string]bool{}
	for _, w := range p.workloads {
		if candidates[w.Namespace] && w.RestartOverride != restart.OverrideNever && w.RestartOverride != restart.OverrideAlways {
			want[w.Namespace] = true
		}
	}
	for _, ns := range p.namespaces {
		if !want[ns] {
			continue
		}
		err := listPages(ctx, tenantPageSize, func(ctx context.Context, o metav1.ListOptions) (string, error) {
			l, err := r.Kube.CoreV1().Pods(ns).List(ctx, o)
			if err != nil {
				return "", fmt.Errorf("list pods in namespace %s to see which workloads need a restart (RBAC must allow list on pods): %w", ns, err)
			}
			for i := range l.Items {
				p.pods[ns] = append(p.pods[ns], restart.ForAssess(&l.Items[i]))
			}
			return l.Continue, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Page sizes of the plan's lists, which bound the memory one page takes. Namespaces are
// cluster-scoped: no tenant shapes them. Any other object (a Secret of the managed name, a
// ServiceAccount, a pod) can be as large as the API server accepts (about 1.5 MB) and a tenant
// shapes those of its namespace: a page of 50 is at most ~75 MB however they are shaped, where 500
// could push the rotator's pod past its memory limit for every namespace. Workloads are paged by 50
// too (restart.DiscoverIn).
const (
	namespacePageSize = 500
	tenantPageSize    = 50
)

// listPages runs a paged list of limit objects a page until the server says it is complete.
func listPages(ctx context.Context, limit int64, page func(context.Context, metav1.ListOptions) (string, error)) error {
	o := metav1.ListOptions{Limit: limit}
	for {
		cont, err := page(ctx, o)
		if err != nil {
			return err
		}
		if cont == "" {
			return nil
		}
		o.Continue = cont
	}
}
