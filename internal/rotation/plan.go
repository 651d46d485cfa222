package rotation

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/providers"
)

// decision is what a run does with the credential itself.
type decision string

const (
	// issueNew: create a new credential and roll it out.
	issueNew decision = "issue"
	// resumePending: a credential issued by an earlier run is not yet everywhere: finish that.
	resumePending decision = "resume"
	// repairOnly: the current credential stays; fix only what drifted.
	repairOnly decision = "repair"
)

// plan is everything a run will do, decided from the config, the state and the cluster before
// any write.
type plan struct {
	cred     *config.Credential
	spec     providers.Spec
	registry string
	decision decision
	reason   string
	state    *state.State

	// namespaces are the existing target namespaces, sorted.
	namespaces []string
	// secrets are the managed Secrets found, by namespace.
	secrets map[string]*corev1.Secret
	// serviceAccounts found among the configured names, by namespace and name.
	serviceAccounts map[string]map[string]*corev1.ServiceAccount
	// workloads depending on the secret (counting ServiceAccounts about to be bound).
	workloads []restart.Workload
	// revoke are provider credentials to delete in this run.
	revoke []CredentialRef
	// clearIssuing: the state's Issuing mark is handled by this run (orphans revoked).
	clearIssuing bool
	// issuingOpen: this run set a new Issuing mark that is not cleared yet.
	issuingOpen bool
	// problems found while planning that fail the run but do not stop other targets.
	problems []string
	warnings []string
	// skipRolloutWait, deferRestart: see Options.
	skipRolloutWait, deferRestart bool
}

// restartAnnotation is the pod-template annotation holding the fingerprint of the credential
// a workload was last restarted for; one key per credential, since a pod may use several.
func restartAnnotation(credential string) string { return "rotator.dev/fp-" + credential }

func (r *Runner) plan(ctx context.Context, cred *config.Credential, opts Options) (*plan, error) {
	registry, normalised, err := cred.Registry()
	if err != nil {
		return nil, fmt.Errorf("credential %s: registry host: %w", cred.Name, err)
	}
	p := &plan{cred: cred, registry: registry, spec: cred.ProviderSpec(),
		skipRolloutWait: opts.SkipRolloutWait, deferRestart: opts.DeferRestart}
	if normalised {
		p.warnings = append(p.warnings, fmt.Sprintf("registry host %q normalised to %q: kubelet matches it either way, but Docker, containerd and other tools match the auths key literally", cred.RegistryHost, registry))
	}
	if p.state, err = r.store().Load(ctx, cred.Name); err != nil {
		return nil, err
	}
	if err := r.resolveNamespaces(ctx, p); err != nil {
		return nil, err
	}
	if err := r.listSecrets(ctx, p); err != nil {
		return nil, err
	}
	if err := r.listServiceAccounts(ctx, p); err != nil {
		return nil, err
	}
	if err := r.discoverWorkloads(ctx, p); err != nil {
		return nil, err
	}
	p.warnings = append(p.warnings, p.hostMismatches()...)
	r.decide(p, opts)
	if err := r.planRevocations(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// resolveNamespaces: the explicit list plus the selector's matches, minus exclusions. One list
// call, whatever the number of namespaces.
func (r *Runner) resolveNamespaces(ctx context.Context, p *plan) error {
	t := p.cred.Targets
	var sel labels.Selector
	if t.NamespaceSelector != "" {
		var err error
		if sel, err = labels.Parse(t.NamespaceSelector); err != nil {
			return err
		}
	}
	existing := map[string]bool{}
	want := map[string]bool{}
	err := listPages(ctx, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := r.Kube.CoreV1().Namespaces().List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, ns := range l.Items {
			if ns.DeletionTimestamp != nil {
				continue
			}
			existing[ns.Name] = true
			if sel != nil && sel.Matches(labels.Set(ns.Labels)) {
				want[ns.Name] = true
			}
		}
		return l.Continue, nil
	})
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	for _, ns := range t.Namespaces {
		if !existing[ns] {
			p.problems = append(p.problems, fmt.Sprintf("namespace %s does not exist: create it or remove it from credentials[%s].targets.namespaces", ns, p.cred.Name))
			continue
		}
		want[ns] = true
	}
	for _, ns := range t.ExcludeNamespaces {
		delete(want, ns)
	}
	for ns := range want {
		p.namespaces = append(p.namespaces, ns)
	}
	sort.Strings(p.namespaces)
	if len(p.namespaces) == 0 && len(p.problems) == 0 {
		p.problems = append(p.problems, "no target namespace: the namespace list and selector match no existing namespace")
	}
	return nil
}

// listSecrets finds this credential's managed Secrets in one labelled list across the cluster.
func (r *Runner) listSecrets(ctx context.Context, p *plan) error {
	p.secrets = map[string]*corev1.Secret{}
	targets := setOf(p.namespaces)
	sel := labels.SelectorFromSet(labels.Set{secretsync.LabelCredential: p.cred.Name}).String()
	return listPages(ctx, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		o.LabelSelector = sel
		l, err := r.Kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, o)
		if err != nil {
			return "", fmt.Errorf("list managed secrets: %w", err)
		}
		for i := range l.Items {
			s := &l.Items[i]
			if targets[s.Namespace] && s.Name == p.cred.Targets.SecretName && secretsync.IsManaged(s, p.cred.Name) {
				p.secrets[s.Namespace] = s
			}
		}
		return l.Continue, nil
	})
}

// listServiceAccounts reads the configured ServiceAccounts. With one configured name a field
// selector keeps the list small; in any case it is one paged list, not a GET per namespace.
func (r *Runner) listServiceAccounts(ctx context.Context, p *plan) error {
	p.serviceAccounts = map[string]map[string]*corev1.ServiceAccount{}
	names := p.cred.Targets.ServiceAccounts
	if len(names) == 0 {
		return nil
	}
	targets, wanted := setOf(p.namespaces), setOf(names)
	var fieldSel string
	if len(names) == 1 {
		fieldSel = fields.OneTermEqualSelector("metadata.name", names[0]).String()
	}
	return listPages(ctx, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		o.FieldSelector = fieldSel
		l, err := r.Kube.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, o)
		if err != nil {
			return "", fmt.Errorf("list serviceaccounts: %w", err)
		}
		for i := range l.Items {
			sa := &l.Items[i]
			if targets[sa.Namespace] && wanted[sa.Name] {
				if p.serviceAccounts[sa.Namespace] == nil {
					p.serviceAccounts[sa.Namespace] = map[string]*corev1.ServiceAccount{}
				}
				p.serviceAccounts[sa.Namespace][sa.Name] = sa
			}
		}
		return l.Continue, nil
	})
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
		s, ok := p.serviceAccounts[ns][sa]
		return ok && secretsync.HasPullSecret(s, secret)
	})
	if err != nil {
		return err
	}
	p.workloads = ws
	return nil
}

// decide what happens to the credential itself; see decision.
func (r *Runner) decide(p *plan, opts Options) {
	st, now := p.state, r.Clock.Now()
	switch {
	case st.Pending != nil && st.Pending.Password != "":
		p.decision = resumePending
		p.reason = fmt.Sprintf("resume credential %s issued at %s, not yet everywhere", st.Pending.Name, st.Pending.IssuedAt.UTC().Format(time.RFC3339))
	case !opts.IfDue:
		p.decision, p.reason = issueNew, "rotate now: issue a new credential"
	case st.Current == nil || st.Current.Password == "":
		p.decision, p.reason = issueNew, "no credential issued yet"
	case st.Current.Registry != p.registry:
		p.decision, p.reason = issueNew, fmt.Sprintf("registry host changed from %s to %s", st.Current.Registry, p.registry)
	default:
		renewAt := p.cred.RenewAt(st.Current.IssuedAt, st.Current.ExpiresAt)
		if !renewAt.IsZero() && !now.Before(renewAt) {
			p.decision = issueNew
			p.reason = fmt.Sprintf("credential %s expires at %s (renew from %s)", st.Current.Name,
				st.Current.ExpiresAt.UTC().Format(time.RFC3339), renewAt.UTC().Format(time.RFC3339))
			return
		}
		p.decision, p.reason = repairOnly, "credential current; repair what drifted"
	}
}

// planRevocations: retired credentials whose grace period ended, and credentials with the
// rotator's prefix that no state knows (left by a run that died between issuing and recording).
func (r *Runner) planRevocations(ctx context.Context, p *plan) error {
	now := r.Clock.Now()
	for _, ret := range p.state.Retired {
		if !now.Before(ret.RevokeAt) {
			p.revoke = append(p.revoke, CredentialRef{ID: ret.ID, Name: ret.Name, Reason: "replaced; grace period ended"})
		}
	}
	if p.state.Issuing == nil {
		return nil
	}
	// A run died between asking the provider for a credential and recording it. Only credentials
	// with the rotator's prefix created in that window are orphans: a window, not "every unknown
	// credential with the prefix", because another cluster's rotator may share a credential name
	// and a Harbor, and its robots are not ours to delete.
	prov, ok := r.Providers[p.cred.Name]
	if !ok {
		return fmt.Errorf("credential %s: no provider configured", p.cred.Name)
	}
	owned, err := prov.List(ctx, p.spec)
	if err != nil {
		return fmt.Errorf("credential %s: list its credentials at the provider: %w", p.cred.Name, err)
	}
	from, to := p.state.Issuing.Add(-orphanClockSkew), p.state.Issuing.Add(orphanWindow)
	for _, o := range owned {
		if !p.state.Known(o.ID) && !o.IssuedAt.Before(from) && !o.IssuedAt.After(to) {
			p.revoke = append(p.revoke, CredentialRef{ID: o.ID, Name: o.Name, Reason: "issued by a run that died before recording it"})
		}
	}
	p.clearIssuing = true
	return nil
}

// hostMismatches names the dependent workloads whose images kubelet will not match with the
// secret's auths key (another host, another port): the most common cause of a 401 after a
// "correct" secret. Reported before anything is written, and in a dry run.
func (p *plan) hostMismatches() []string {
	var out []string
	for _, w := range p.workloads {
		// A workload pulling from several registries (several secrets) needs only one image here.
		var other []string
		for _, img := range w.Images {
			if !pullsecret.KeyMatchesImage(p.registry, img) {
				other = append(other, img)
			}
		}
		if len(other) > 0 && len(other) == len(w.Images) {
			out = append(out, fmt.Sprintf("%s uses %s, which kubelet will not match with the auths key %q of secret %s (another registry host or port): its pods will not use this credential; check the image or credentials[%s].registryHost",
				w, strings.Join(other, ", "), p.registry, p.cred.Targets.SecretName, p.cred.Name))
		}
	}
	return out
}

// idle reports whether a run of this plan would change nothing: the current credential stays,
// every target already holds it, every ServiceAccount is bound and nothing awaits revocation.
func (p *plan) idle() bool {
	if p.decision != repairOnly || len(p.revoke) > 0 || len(p.problems) > 0 || p.clearIssuing || p.writeBackDue() {
		return false
	}
	for _, ns := range p.namespaces {
		if s := p.secrets[ns]; s == nil || !secretsync.UpToDate(s, p.state.Current.Fingerprint) {
			return false
		}
		for _, name := range p.cred.Targets.ServiceAccounts {
			if sa := p.serviceAccounts[ns][name]; sa == nil || !secretsync.HasPullSecret(sa, p.cred.Targets.SecretName) {
				return false
			}
		}
	}
	return true
}

func (p *plan) revoking(id string) bool {
	for _, c := range p.revoke {
		if c.ID == id {
			return true
		}
	}
	return false
}

// The orphan window around a recorded issuing time: the provider's clock may differ from ours,
// and a slow provider may create the credential well after the request was sent.
const (
	orphanClockSkew = 2 * time.Minute
	orphanWindow    = 10 * time.Minute
)

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// listPages runs a paged list until the server says it is complete.
func listPages(ctx context.Context, page func(context.Context, metav1.ListOptions) (string, error)) error {
	o := metav1.ListOptions{Limit: 500}
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
