package doctor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// ErrTarget is wrapped by every error about what to diagnose: a bad argument, or a pod or
// workload that does not exist. The command line reports it as a usage error.
var ErrTarget = errors.New("invalid target")

// Target says which pods to diagnose.
type Target struct {
	Namespace string
	// Kind is "pod", "deployment", "statefulset" or "daemonset"; empty means every pod of the
	// namespace.
	Kind string
	Name string
}

// String names the target in reports, e.g. "deployment/web in namespace shop".
func (t Target) String() string {
	if t.Kind == "" {
		return "every pod of namespace " + t.Namespace
	}
	return t.Kind + "/" + t.Name + " in namespace " + t.Namespace
}

// kindAliases are the spellings kubectl accepts for the kinds the doctor follows.
var kindAliases = map[string]string{
	"pod": "pod", "pods": "pod", "po": "pod",
	"deployment": "deployment", "deployments": "deployment", "deploy": "deployment",
	"statefulset": "statefulset", "statefulsets": "statefulset", "sts": "statefulset",
	"daemonset": "daemonset", "daemonsets": "daemonset", "ds": "daemonset",
}

// ParseTarget reads the command line's target: "POD", "pod/NAME", "deployment/NAME",
// "statefulset/NAME", "daemonset/NAME", or all (every pod of the namespace, also when arg is
// empty).
func ParseTarget(namespace, arg string, all bool) (Target, error) {
	t := Target{Namespace: namespace}
	switch {
	case arg != "" && all:
		return t, fmt.Errorf("%w: give either %q or --all, not both", ErrTarget, arg)
	case arg == "":
		return t, nil
	}
	kind, name, ok := strings.Cut(arg, "/")
	if !ok {
		kind, name = "pod", arg
	}
	k, known := kindAliases[strings.ToLower(kind)]
	if !known {
		return t, fmt.Errorf("%w: %q: the doctor follows pods, deployments, statefulsets and daemonsets (e.g. deployment/web)", ErrTarget, arg)
	}
	if name == "" || strings.Contains(name, "/") {
		return t, fmt.Errorf("%w: %q: want KIND/NAME", ErrTarget, arg)
	}
	t.Kind, t.Name = k, name
	return t, nil
}

// pods returns the pods of t, sorted by name.
func (d *Doctor) pods(ctx context.Context, t Target) ([]corev1.Pod, error) {
	core := d.Kube.CoreV1().Pods(t.Namespace)
	if t.Kind == "pod" {
		p, err := core.Get(ctx, t.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: pod %s/%s not found", ErrTarget, t.Namespace, t.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("read pod %s/%s: %w (the doctor needs get on pods: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", t.Namespace, t.Name, err)
		}
		return []corev1.Pod{*p}, nil
	}
	sel := labels.Everything()
	if t.Kind != "" {
		s, err := d.selector(ctx, t)
		if err != nil {
			return nil, err
		}
		sel = s
	}
	var out []corev1.Pod
	opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: listPageSize}
	for {
		l, err := core.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list pods of %s: %w (the doctor needs list on pods: ClusterRole rotator-doctor, deploy/rbac/clusterrole-doctor.yaml, grants it)", t, err)
		}
		for _, p := range l.Items {
			// A pod being deleted is going away with its failure: its replacement is the one
			// that matters (a pod asked for by name is diagnosed anyway).
			if p.DeletionTimestamp == nil {
				out = append(out, p)
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// selector reads the workload's pod selector.
func (d *Doctor) selector(ctx context.Context, t Target) (labels.Selector, error) {
	apps := d.Kube.AppsV1()
	var ls *metav1.LabelSelector
	var err error
	switch t.Kind {
	case "deployment":
		dep, e := apps.Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		err = e
		if e == nil {
			ls = dep.Spec.Selector
		}
	case "statefulset":
		s, e := apps.StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		err = e
		if e == nil {
			ls = s.Spec.Selector
		}
	case "daemonset":
		s, e := apps.DaemonSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		err = e
		if e == nil {
			ls = s.Spec.Selector
		}
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s/%s not found in namespace %s", ErrTarget, t.Kind, t.Name, t.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/%s in namespace %s: %w", t.Kind, t.Name, t.Namespace, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("%s/%s in namespace %s: selector: %w", t.Kind, t.Name, t.Namespace, err)
	}
	return sel, nil
}

// owner returns the workload that recreates pod, as "deployment/web", or "" for a bare pod
// (or one whose owner the doctor does not restart, which it names as "kind/name").
//
// A Deployment's pod is owned by a ReplicaSet named "<deployment>-<pod-template-hash>"; the
// Deployment is found from that name rather than by reading the ReplicaSet, which spares the
// doctor a permission, and confirmed by reading the Deployment.
func (d *Doctor) owner(ctx context.Context, pod *corev1.Pod) string {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return ""
	}
	switch ref.Kind {
	case "StatefulSet", "DaemonSet":
		return strings.ToLower(ref.Kind) + "/" + ref.Name
	case "ReplicaSet":
		hash := pod.Labels["pod-template-hash"]
		if dep, ok := strings.CutSuffix(ref.Name, "-"+hash); ok && hash != "" {
			if _, err := d.Kube.AppsV1().Deployments(pod.Namespace).Get(ctx, dep, metav1.GetOptions{}); err == nil {
				return "deployment/" + dep
			}
		}
	}
	return strings.ToLower(ref.Kind) + "/" + ref.Name
}
