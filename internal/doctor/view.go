package doctor

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// listPageSize bounds one List response: a namespace may hold thousands of Events.
const listPageSize = 500

// view reads one namespace for a diagnosis, each object at most once. Every Secret it reads is
// remembered so the report can be scrubbed of its values (see redactor). A Secret the doctor may
// not read is no error: the read returns a NotChecked, which is also noted for the container being
// diagnosed (see take).
type view struct {
	kube   kubernetes.Interface
	ns     string
	access *access
	// state asks the rotator's own cluster, when the view is of a fleet member's (stateAccess).
	state *access

	secrets   map[string]secretEntry
	sas       map[string]*corev1.ServiceAccount
	nsList    []corev1.Secret // every Secret of the namespace, once listed
	listed    *secretEntry    // non-nil once listed (denied: not listable)
	elsewhere map[string]elsewhereEntry
	evs       []corev1.Event // the namespace's Events, when listed
	redact    *redactor

	pending []NotChecked // the checks not made for the container being diagnosed
}

type secretEntry struct {
	s      *corev1.Secret // nil: not found (or denied)
	denied *NotChecked
}

type elsewhereEntry struct {
	secrets []corev1.Secret // same-named Secrets of other namespaces
	denied  *NotChecked
}

func newView(kube kubernetes.Interface, ns string, r *redactor) *view {
	return &view{
		kube: kube, ns: ns, redact: r, access: newAccess(kube),
		secrets:   map[string]secretEntry{},
		sas:       map[string]*corev1.ServiceAccount{},
		elsewhere: map[string]elsewhereEntry{},
	}
}

// stateAccess is the access of the identity reading the rotator's state in its own cluster
// (kube), when that is not the view's: one memory of its answers per diagnosis.
func (v *view) stateAccess(kube kubernetes.Interface) *access {
	if v.state == nil {
		v.state = newAccess(kube)
	}
	return v.state
}

// note remembers nc for the container being diagnosed, once.
func (v *view) note(nc *NotChecked) {
	if nc == nil {
		return
	}
	for _, p := range v.pending {
		if p.Check == nc.Check && p.Namespace == nc.Namespace && p.Secret == nc.Secret {
			return
		}
	}
	v.pending = append(v.pending, *nc)
}

// unnote forgets a noted check that turned out moot.
func (v *view) unnote(c Check, ns, secret string) {
	out := v.pending[:0]
	for _, p := range v.pending {
		if p.Check != c || p.Namespace != ns || p.Secret != secret {
			out = append(out, p)
		}
	}
	v.pending = out
}

// take returns the checks not made since the last take.
func (v *view) take() []NotChecked {
	out := v.pending
	v.pending = nil
	return out
}

// forbidden is the reason of a refused read, or "" when err is no refusal.
func forbidden(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden"
	}
	return ""
}

// secret returns the Secret name of the namespace, or nil when it does not exist; denied is set
// (and noted) when the doctor may not read it.
func (v *view) secret(ctx context.Context, name string) (s *corev1.Secret, denied *NotChecked, err error) {
	if e, ok := v.secrets[name]; ok {
		v.note(e.denied)
		return e.s, e.denied, nil
	}
	var e secretEntry
	if v.access.may(ctx, "get", v.ns, name) {
		e.s, err = v.kube.CoreV1().Secrets(v.ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			e.s = nil
		case forbidden(err) != "":
			v.access.refuse("get", v.ns, name)
			e.s = nil
			nc := v.access.secretDenied(ctx, v.ns, name, forbidden(err))
			e.denied = &nc
		case err != nil:
			return nil, nil, fmt.Errorf("read secret %s/%s: %w", v.ns, name, err)
		default:
			v.redact.addSecret(e.s)
		}
	} else {
		nc := v.access.secretDenied(ctx, v.ns, name, "forbidden")
		e.denied = &nc
	}
	v.secrets[name] = e
	v.note(e.denied)
	return e.s, e.denied, nil
}

// serviceAccount returns the ServiceAccount name, or nil when it does not exist.
func (v *view) serviceAccount(ctx context.Context, name string) (*corev1.ServiceAccount, error) {
	if sa, ok := v.sas[name]; ok {
		return sa, nil
	}
	sa, err := v.kube.CoreV1().ServiceAccounts(v.ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		sa = nil
	case err != nil:
		return nil, fmt.Errorf("read serviceaccount %s/%s: %w (the doctor needs get on serviceaccounts: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", v.ns, name, err)
	}
	v.sas[name] = sa
	return sa, nil
}

// allSecrets lists the namespace's Secrets once, to find one that would serve an image (host);
// denied is set (and noted) when the doctor may not list them.
func (v *view) allSecrets(ctx context.Context, host string) ([]corev1.Secret, *NotChecked, error) {
	if v.listed != nil {
		v.note(v.listed.denied)
		return v.nsList, v.listed.denied, nil
	}
	deny := func(reason string) ([]corev1.Secret, *NotChecked, error) {
		nc := v.access.listDenied(ctx, v.ns, host, reason)
		v.listed = &secretEntry{denied: &nc}
		v.nsList = nil
		v.note(&nc)
		return nil, &nc, nil
	}
	if !v.access.may(ctx, "list", v.ns, "") {
		return deny("forbidden")
	}
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := v.kube.CoreV1().Secrets(v.ns).List(ctx, opts)
		if r := forbidden(err); r != "" {
			v.access.refuse("list", v.ns, "")
			return deny(r)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("list secrets of namespace %s: %w", v.ns, err)
		}
		for i := range l.Items {
			v.redact.addSecret(&l.Items[i])
		}
		v.nsList = append(v.nsList, l.Items...)
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	v.listed = &secretEntry{}
	return v.nsList, nil, nil
}

// elsewhereSecrets returns the Secrets named name of the other namespaces, sorted by namespace.
// One cluster-wide list with a field selector: the API server filters, whatever the cluster's
// size. Someone allowed into some namespaces only gets the diagnosis without the hint, and a
// NotChecked that says so.
func (v *view) elsewhereSecrets(ctx context.Context, name string) ([]corev1.Secret, *NotChecked, error) {
	if e, ok := v.elsewhere[name]; ok {
		v.note(e.denied)
		return e.secrets, e.denied, nil
	}
	deny := func(reason string) ([]corev1.Secret, *NotChecked, error) {
		nc := elsewhereDenied(name, reason)
		v.elsewhere[name] = elsewhereEntry{denied: &nc}
		v.note(&nc)
		return nil, &nc, nil
	}
	if !v.access.may(ctx, "list", metav1.NamespaceAll, "") {
		return deny("forbidden")
	}
	var out []corev1.Secret
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), Limit: listPageSize}
	for {
		l, err := v.kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
		if r := forbidden(err); r != "" {
			v.access.refuse("list", metav1.NamespaceAll, "")
			return deny(r)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("look for secret %q in other namespaces: %w", name, err)
		}
		for i := range l.Items {
			v.redact.addSecret(&l.Items[i])
			if l.Items[i].Namespace != v.ns && l.Items[i].Name == name {
				out = append(out, l.Items[i])
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	v.elsewhere[name] = elsewhereEntry{secrets: out}
	return out, nil, nil
}

// events lists the namespace's Events (core/v1, which kubelet writes).
func (v *view) events(ctx context.Context) ([]corev1.Event, error) {
	var out []corev1.Event
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := v.kube.CoreV1().Events(v.ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list events of namespace %s: %w (the doctor needs list on events: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", v.ns, err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			v.evs = out
			return out, nil
		}
		opts.Continue = l.Continue
	}
}
