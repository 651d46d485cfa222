package restart

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// listPageSize bounds one List response, and so the memory one page takes: a tenant of a target
// namespace may create workloads and pods as large as the API server accepts (about 1.5 MB each),
// so a page of 50 is at most ~75 MB however the tenant shapes its objects, where 500 could push
// the rotator's pod past its memory limit for everyone.
const listPageSize = 50

// Discover lists the Deployments, StatefulSets and DaemonSets of namespace and
// returns those whose pods depend on secretName (see Depends), sorted by kind
// and name. saHasSecret reports whether a ServiceAccount carries the secret,
// including ServiceAccounts the caller is about to bind.
//
// Workloads already being deleted are left out: rolling them would only race
// their garbage collection.
func Discover(ctx context.Context, c kubernetes.Interface, namespace, secretName string, saHasSecret func(sa string) bool) ([]Workload, error) {
	return discover(ctx, c, namespace, nil, secretName, func(_, sa string) bool {
		return saHasSecret != nil && saHasSecret(sa)
	})
}

// DiscoverIn is Discover for many namespaces at once: one paged list per kind
// across the cluster, whatever the number of namespaces, instead of three
// lists per namespace. It keeps the workloads of the namespaces in namespaces
// and returns them sorted by namespace, kind and name. saHasSecret answers
// for ServiceAccount sa of namespace ns. The caller needs "list" on the three
// kinds cluster-wide.
func DiscoverIn(ctx context.Context, c kubernetes.Interface, namespaces map[string]bool, secretName string, saHasSecret func(ns, sa string) bool) ([]Workload, error) {
	if len(namespaces) == 0 {
		return nil, nil
	}
	return discover(ctx, c, metav1.NamespaceAll, namespaces, secretName, saHasSecret)
}

// discover lists the three kinds in listNamespace (metav1.NamespaceAll for
// the whole cluster), keeping only namespaces in keep when it is not nil.
func discover(ctx context.Context, c kubernetes.Interface, listNamespace string, keep map[string]bool, secretName string, saHasSecret func(ns, sa string) bool) ([]Workload, error) {
	var out []Workload
	var sh shared
	add := func(kind Kind, meta metav1.ObjectMeta, tmpl corev1.PodTemplateSpec, sel *metav1.LabelSelector, replicas int32) {
		if meta.DeletionTimestamp != nil || (keep != nil && !keep[meta.Namespace]) {
			return
		}
		via, ok := Depends(tmpl, secretName, func(sa string) bool { return saHasSecret(meta.Namespace, sa) })
		if !ok {
			return
		}
		w := Workload{
			Kind:             kind,
			Namespace:        meta.Namespace,
			Name:             sh.str(meta.Name),
			UID:              meta.UID,
			ServiceAccount:   sh.str(serviceAccountName(tmpl.Spec)),
			Images:           sh.strs(images(tmpl.Spec)),
			Via:              sh.str(via),
			Annotations:      rotatorKeys(tmpl.Annotations),
			OtherPullSecrets: sh.strs(otherPullSecrets(tmpl.Spec, secretName)),
			Replicas:         replicas,
			RestartOverride:  meta.Annotations[AnnotationRestart],
		}
		if sel != nil {
			w.Selector, w.selectorErr = sh.selector(sel)
		}
		out = append(out, w)
	}

	apps := c.AppsV1()
	err := listAll(ctx, KindDeployment, listNamespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := apps.Deployments(listNamespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for _, d := range l.Items {
			add(KindDeployment, d.ObjectMeta, d.Spec.Template, d.Spec.Selector, desired(d.Spec.Replicas))
		}
		return l.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	err = listAll(ctx, KindStatefulSet, listNamespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := apps.StatefulSets(listNamespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for _, s := range l.Items {
			add(KindStatefulSet, s.ObjectMeta, s.Spec.Template, s.Spec.Selector, desired(s.Spec.Replicas))
		}
		return l.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	err = listAll(ctx, KindDaemonSet, listNamespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := apps.DaemonSets(listNamespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for _, d := range l.Items {
			add(KindDaemonSet, d.ObjectMeta, d.Spec.Template, d.Spec.Selector, d.Status.DesiredNumberScheduled)
		}
		return l.Continue, nil
	})
	if err != nil {
		return nil, err
	}

	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// shared keeps one copy of what many workloads have alike, during one discovery: an app's
// name, image, ServiceAccount and selector are the same in every namespace it is deployed to. A
// run keeps every dependent of every target (20,000 at 10,000 namespaces), each otherwise with
// copies of its own of the strings and of the compiled selector.
type shared struct {
	strings   map[string]string
	selectors map[string]labels.Selector
}

func (s *shared) str(v string) string {
	if v == "" {
		return v
	}
	if s.strings == nil {
		s.strings = map[string]string{}
	}
	if c, ok := s.strings[v]; ok {
		return c
	}
	s.strings[v] = v
	return v
}

func (s *shared) strs(vs []string) []string {
	for i, v := range vs {
		vs[i] = s.str(v)
	}
	return vs
}

// selector compiles sel, or returns the selector compiled before that selects the same (the
// same canonical form). One that does not compile is not shared: its error names it.
func (s *shared) selector(sel *metav1.LabelSelector) (labels.Selector, error) {
	c, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return c, err
	}
	key := c.String()
	if s.selectors == nil {
		s.selectors = map[string]labels.Selector{}
	}
	if prev, ok := s.selectors[key]; ok {
		return prev, nil
	}
	s.selectors[key] = c
	return c, nil
}

// rotatorKeys are the rotator.dev/ annotations of a pod template, the only ones a restart reads
// (the restart value it sets): a template's other annotations (checksums, tooling, dashboards)
// can be large and would be kept for every workload of every target.
func rotatorKeys(ann map[string]string) map[string]string {
	var out map[string]string
	for k, v := range ann {
		if strings.HasPrefix(k, "rotator.dev/") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// listAll pages through one List call; page handles one page and returns
// its continue token.
func listAll(ctx context.Context, kind Kind, namespace string, page func(context.Context, metav1.ListOptions) (string, error)) error {
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		next, err := page(ctx, opts)
		if err != nil && namespace == metav1.NamespaceAll {
			if apierrors.IsForbidden(err) {
				return fmt.Errorf("list %s across the cluster: forbidden: RBAC must allow verb \"list\" on %q cluster-wide (a ClusterRole and ClusterRoleBinding): %w", kind.resource(), kind.resource(), err)
			}
			return fmt.Errorf("list %s across the cluster: %w", kind.resource(), err)
		}
		if err != nil {
			return apiError(fmt.Sprintf("list %s in namespace %s", kind.resource(), namespace), kind, namespace, "list", err)
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}

// kindOrder keeps Discover's output in the order the kinds are listed.
func kindOrder(k Kind) int {
	switch k {
	case KindDeployment:
		return 0
	case KindStatefulSet:
		return 1
	case KindDaemonSet:
		return 2
	}
	return 3
}

// otherPullSecrets are the pull secrets the template names besides secretName.
func otherPullSecrets(spec corev1.PodSpec, secretName string) []string {
	var out []string
	for _, r := range spec.ImagePullSecrets {
		if r.Name != secretName && r.Name != "" {
			out = append(out, r.Name)
		}
	}
	return out
}
