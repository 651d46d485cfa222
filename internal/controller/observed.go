package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/rotation"
)

// Observed is the controller's caches as the source of a run's plan (rotation.Runner.Observed):
// the service's scheduled runs read the namespaces, managed Secrets and ServiceAccounts the
// informers already hold instead of listing them again. Use it only once the caches have synced
// and only while the controller runs (its informers stop with its context).
func (c *Controller) Observed() rotation.Observed { return observed{c.caches} }

type observed struct{ c *caches }

func (o observed) Namespaces() []metav1.Object {
	objs := o.c.namespaces.GetStore().List()
	out := make([]metav1.Object, 0, len(objs))
	for _, obj := range objs {
		if ns, ok := obj.(*metav1.PartialObjectMetadata); ok {
			out = append(out, ns)
		}
	}
	return out
}

func (o observed) Secrets(name string) ([]*corev1.Secret, bool) {
	inf, ok := o.c.secrets[name]
	if !ok {
		return nil, false
	}
	return listOf[*corev1.Secret](inf.GetStore().List()), true
}

func (o observed) ServiceAccounts(name string) ([]*corev1.ServiceAccount, bool) {
	inf, ok := o.c.serviceAccounts[name]
	if !ok {
		return nil, false
	}
	return listOf[*corev1.ServiceAccount](inf.GetStore().List()), true
}

func listOf[T any](objs []any) []T {
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		if t, ok := obj.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
