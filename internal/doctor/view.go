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
// remembered so the report can be scrubbed of its values (see redactor).
type view struct {
	kube kubernetes.Interface
	ns   string

	secrets   map[string]*corev1.Secret // nil value: not found
	sas       map[string]*corev1.ServiceAccount
	nsList    []corev1.Secret // every Secret of the namespace, once listed
	listed    bool
	elsewhere map[string][]corev1.Secret // secret name → same-named Secrets of other namespaces
	redact    *redactor
}

func newView(kube kubernetes.Interface, ns string, r *redactor) *view {
	return &view{
		kube: kube, ns: ns, redact: r,
		secrets:   map[string]*corev1.Secret{},
		sas:       map[string]*corev1.ServiceAccount{},
		elsewhere: map[string][]corev1.Secret{},
	}
}

// secret returns the Secret name of the namespace, or nil when it does not exist.
func (v *view) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := v.secrets[name]; ok {
		return s, nil
	}
	s, err := v.kube.CoreV1().Secrets(v.ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s = nil
	case err != nil:
		return nil, fmt.Errorf("read secret %s/%s: %w (the doctor needs get on secrets: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", v.ns, name, err)
	default:
		v.redact.addSecret(s)
	}
	v.secrets[name] = s
	return s, nil
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

// allSecrets lists the namespace's Secrets once, to find one that would serve an image.
func (v *view) allSecrets(ctx context.Context) ([]corev1.Secret, error) {
	if v.listed {
		return v.nsList, nil
	}
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := v.kube.CoreV1().Secrets(v.ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list secrets of namespace %s: %w (the doctor needs list on secrets: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", v.ns, err)
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
	v.listed = true
	return v.nsList, nil
}

// elsewhereSecrets returns the Secrets named name of the other namespaces, sorted by namespace.
// One cluster-wide list with a field selector: the API server filters, whatever the cluster's
// size.
func (v *view) elsewhereSecrets(ctx context.Context, name string) ([]corev1.Secret, error) {
	if out, ok := v.elsewhere[name]; ok {
		return out, nil
	}
	var out []corev1.Secret
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), Limit: listPageSize}
	for {
		l, err := v.kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
		if apierrors.IsForbidden(err) {
			// Someone allowed into one namespace only still gets the diagnosis, without the hint.
			v.elsewhere[name] = nil
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("look for secret %q in other namespaces: %w (the doctor needs list on secrets cluster-wide: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", name, err)
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
	v.elsewhere[name] = out
	return out, nil
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
			return out, nil
		}
		opts.Continue = l.Continue
	}
}
