package rotation

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fixedObserved is what a watcher of the fake cluster holds at one moment.
type fixedObserved struct {
	namespaces []metav1.Object
	secrets    map[string][]*corev1.Secret
	sas        map[string][]*corev1.ServiceAccount
}

func (o *fixedObserved) Namespaces() []metav1.Object { return o.namespaces }
func (o *fixedObserved) Secrets(name string) ([]*corev1.Secret, bool) {
	s, ok := o.secrets[name]
	return s, ok
}
func (o *fixedObserved) ServiceAccounts(name string) ([]*corev1.ServiceAccount, bool) {
	s, ok := o.sas[name]
	return s, ok
}

func (o *fixedObserved) deepCopy() *fixedObserved {
	c := &fixedObserved{secrets: map[string][]*corev1.Secret{}, sas: map[string][]*corev1.ServiceAccount{}}
	for _, ns := range o.namespaces {
		c.namespaces = append(c.namespaces, ns.(*metav1.PartialObjectMetadata).DeepCopy())
	}
	for k, v := range o.secrets {
		c.secrets[k] = make([]*corev1.Secret, 0, len(v))
		for _, s := range v {
			c.secrets[k] = append(c.secrets[k], s.DeepCopy())
		}
	}
	for k, v := range o.sas {
		c.sas[k] = make([]*corev1.ServiceAccount, 0, len(v))
		for _, s := range v {
			c.sas[k] = append(c.sas[k], s.DeepCopy())
		}
	}
	return c
}

// observe copies the fake cluster's namespaces, and its Secrets and ServiceAccounts of the
// watched names, as the controller's informers would hold them.
func observe(t *testing.T, kube *fake.Clientset, secretName, saName string) *fixedObserved {
	t.Helper()
	ctx := context.Background()
	o := &fixedObserved{secrets: map[string][]*corev1.Secret{secretName: {}}, sas: map[string][]*corev1.ServiceAccount{saName: {}}}
	nss, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nss.Items {
		o.namespaces = append(o.namespaces, &metav1.PartialObjectMetadata{ObjectMeta: nss.Items[i].ObjectMeta})
	}
	ss, err := kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss.Items {
		if ss.Items[i].Name == secretName {
			o.secrets[secretName] = append(o.secrets[secretName], &ss.Items[i])
		}
	}
	sas, err := kube.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sas.Items {
		if sas.Items[i].Name == saName {
			o.sas[saName] = append(o.sas[saName], &sas.Items[i])
		}
	}
	return o
}

// refuseLists makes the fake API server refuse every list of what an Observed holds.
func refuseLists(kube *fake.Clientset) {
	for _, res := range []string{"namespaces", "secrets", "serviceaccounts"} {
		kube.PrependReactor("list", res, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errors.New("listed " + res + " although the caches hold them")
		})
	}
}

// A run of the service plans from the namespace controller's caches (Runner.Observed): the
// plan is the one the lists give, the run carries it out, and it sends no list of what the
// caches hold and changes none of their objects (they are shared with the informers).
func TestPlanFromObservedIsThePlanFromLists(t *testing.T) {
	for _, tc := range planCases() {
		t.Run(tc.name, func(t *testing.T) {
			w := planWorld(t, tc)
			dry := tc.opts
			dry.DryRun, dry.SkipRolloutWait = true, true
			listed := w.runner().Rotate(context.Background(), w.cred(), dry)
			must(t, listed, Planned)

			obs := observe(t, w.kube, "pull", "default")
			before := obs.deepCopy()
			refuseLists(w.kube)
			r := w.runner()
			r.Observed = obs
			planned := r.Rotate(context.Background(), w.cred(), dry)
			must(t, planned, Planned)
			if planned.Action != listed.Action || planned.Decision != listed.Decision {
				t.Errorf("decision: from lists %s %q, from the caches %s %q", listed.Action, listed.Decision, planned.Action, planned.Decision)
			}
			if l, c := secretActions(listed, false), secretActions(planned, false); !slices.Equal(l, c) {
				t.Errorf("secrets: from lists %v, from the caches %v", l, c)
			}
			if l, c := saNames(listed), saNames(planned); !slices.Equal(l, c) {
				t.Errorf("bindings: from lists %v, from the caches %v", l, c)
			}

			run := tc.opts
			run.SkipRolloutWait = true
			done := r.Rotate(context.Background(), w.cred(), run)
			if done.Action != planned.Action || done.Decision != planned.Decision {
				t.Errorf("decision: planned %s %q, done %s %q (%v)", planned.Action, planned.Decision, done.Action, done.Decision, done.Errors)
			}
			if p, d := secretActions(planned, false), secretActions(done, true); !slices.Equal(p, d) {
				t.Errorf("secrets: planned %v, done %v", p, d)
			}
			if !reflect.DeepEqual(before, obs) {
				t.Error("the run changed objects of the caches")
			}
		})
	}
}
