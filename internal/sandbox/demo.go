package sandbox

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Demo names: three team namespaces and the secret the demo config writes.
const (
	DemoSecretName     = "harbor-pull"
	DemoStateNamespace = "rotator-system"
)

// DemoNamespaces are the namespaces of the demo's workloads.
var DemoNamespaces = []string{"team-a", "team-b", "team-c"}

// SeedDemo creates the demo's namespaces and workloads. They pull from the Harbor projects and
// fail with 401 until a rotation gives them a credential: some name the pull secret themselves,
// some get it through their ServiceAccount; "unrelated" uses neither.
func SeedDemo(ctx context.Context, r *Rig) error {
	a, b := r.Images["proj-a"], r.Images["proj-b"]
	if a == "" || b == "" {
		return fmt.Errorf("sandbox: demo needs projects proj-a and proj-b")
	}
	for _, ns := range append([]string{DemoStateNamespace}, DemoNamespaces...) {
		if err := r.CreateNamespace(ctx, ns, nil); err != nil {
			return err
		}
	}
	objs := []any{
		Deployment("team-a", "web", a, DemoSecretName, 2),
		Deployment("team-b", "api", b, "", 1),
		StatefulSet("team-b", "db", a, ""),
		Deployment("team-c", "worker", b, DemoSecretName, 1),
		Deployment("team-c", "unrelated", b, "other-secret", 1),
	}
	for _, o := range objs {
		if err := r.Apply(ctx, o); err != nil {
			return err
		}
	}
	return seedGitLabDemo(ctx, r)
}

// CreateNamespace creates ns with labels (existing is fine) and waits for its default
// ServiceAccount, which pods need before they can be created.
func (r *Rig) CreateNamespace(ctx context.Context, ns string, labels map[string]string) error {
	_, err := r.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create namespace %s: %w", ns, err)
	}
	return nil
}

// Apply creates a Deployment, StatefulSet or DaemonSet built by the helpers below.
func (r *Rig) Apply(ctx context.Context, obj any) error {
	var err error
	switch o := obj.(type) {
	case *appsv1.Deployment:
		_, err = r.Admin.AppsV1().Deployments(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *appsv1.StatefulSet:
		_, err = r.Admin.AppsV1().StatefulSets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *appsv1.DaemonSet:
		_, err = r.Admin.AppsV1().DaemonSets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	default:
		return fmt.Errorf("sandbox: cannot apply %T", obj)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// PodTemplate runs image; pullSecret "" means it relies on its ServiceAccount.
func PodTemplate(app, image, pullSecret string) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: image}},
			// No grace: the node simulator deletes at once anyway; this keeps intent obvious.
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if pullSecret != "" {
		t.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
	}
	return t
}

// Deployment with replicas pods of image.
func Deployment(ns, name, image, pullSecret string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: PodTemplate(name, image, pullSecret),
		},
	}
}

// StatefulSet with one pod of image.
func StatefulSet(ns, name, image, pullSecret string) *appsv1.StatefulSet {
	one := int32(1)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &one,
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template:    PodTemplate(name, image, pullSecret),
		},
	}
}

// DaemonSet of image (one pod, on the simulated node).
func DaemonSet(ns, name, image, pullSecret string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: PodTemplate(name, image, pullSecret),
		},
	}
}
