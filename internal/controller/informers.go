package controller

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// stateLabel marks the state Secrets (state.Store.Save).
const stateLabel = "rotator.dev/state-of"

// caches are the controller's informers. Each one holds only what a reconcile reads, so memory
// grows with the target namespaces, not with the cluster's Secrets or pods:
//   - namespaces, metadata only (name and labels decide a target);
//   - Secrets named as a managed secret (a field selector per name), whoever wrote them, so a
//     foreign Secret of that name or one whose labels were edited away is seen too;
//   - ServiceAccounts of the configured names (a field selector per name);
//   - the state Secrets in the state namespace.
//
// Pods are never cached: a reconcile that repaired a namespace lists its pods once to unstick them.
type caches struct {
	namespaces      cache.SharedIndexInformer
	secrets         map[string]cache.SharedIndexInformer // by secret name
	serviceAccounts map[string]cache.SharedIndexInformer // by ServiceAccount name
	states          cache.SharedIndexInformer
}

func newCaches(kube kubernetes.Interface, meta metadata.Interface, stateKube kubernetes.Interface, stateNamespace string, secretNames, saNames []string, resync time.Duration) *caches {
	c := &caches{
		namespaces: metadatainformer.NewFilteredMetadataInformer(meta, corev1.SchemeGroupVersion.WithResource("namespaces"),
			metav1.NamespaceAll, resync, cache.Indexers{}, nil).Informer(),
		secrets:         map[string]cache.SharedIndexInformer{},
		serviceAccounts: map[string]cache.SharedIndexInformer{},
	}
	for _, name := range secretNames {
		c.secrets[name] = coreinformers.NewFilteredSecretInformer(kube, metav1.NamespaceAll, resync, cache.Indexers{}, byName(name))
	}
	for _, name := range saNames {
		c.serviceAccounts[name] = coreinformers.NewFilteredServiceAccountInformer(kube, metav1.NamespaceAll, resync, cache.Indexers{}, byName(name))
	}
	c.states = coreinformers.NewFilteredSecretInformer(stateKube, stateNamespace, resync, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = stateLabel
	})
	in := &interner{}
	for _, inf := range c.all() {
		_ = inf.SetTransform(in.slim)
	}
	return c
}

// slim drops from a cached object what no reconcile reads, so the caches hold about the size of
// what they need at 10,000 namespaces: managedFields (a third of a small object) everywhere; a
// namespace's and a ServiceAccount's annotations, owner references and finalizers (a reconcile
// reads a namespace's name and labels, a ServiceAccount's imagePullSecrets), and the token Secrets
// a ServiceAccount lists. A Secret keeps its annotations: they say which credential it holds.
// What is equal across namespaces (a managed Secret's labels, annotations and data, a
// ServiceAccount's imagePullSecrets) is shared (interner).
func (in *interner) slim(obj any) (any, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	m.SetManagedFields(nil)
	switch o := obj.(type) {
	case *metav1.PartialObjectMetadata:
		o.Annotations, o.OwnerReferences, o.Finalizers = nil, nil, nil
	case *corev1.ServiceAccount:
		o.Annotations, o.OwnerReferences, o.Finalizers, o.Secrets = nil, nil, nil, nil
		o.Labels = in.stringMap(o.Labels)
		o.ImagePullSecrets = in.references(o.ImagePullSecrets)
	case *corev1.Secret:
		o.Labels = in.stringMap(o.Labels)
		o.Annotations = in.stringMap(o.Annotations)
		o.Data = in.dataMap(o.Data)
	}
	return obj, nil
}

// byName selects the objects of one name in every namespace: the API server filters, so the
// cache holds nothing else.
func byName(name string) func(*metav1.ListOptions) {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return func(o *metav1.ListOptions) { o.FieldSelector = sel }
}

func (c *caches) all() []cache.SharedIndexInformer {
	out := []cache.SharedIndexInformer{c.namespaces, c.states}
	for _, inf := range c.secrets {
		out = append(out, inf)
	}
	for _, inf := range c.serviceAccounts {
		out = append(out, inf)
	}
	return out
}

func (c *caches) synced() []cache.InformerSynced {
	var out []cache.InformerSynced
	for _, inf := range c.all() {
		out = append(out, inf.HasSynced)
	}
	return out
}

// namespace is the cached namespace (nil: none, or being deleted).
func (c *caches) namespace(name string) *metav1.PartialObjectMetadata {
	obj, ok, err := c.namespaces.GetStore().GetByKey(name)
	if err != nil || !ok {
		return nil
	}
	ns, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok || ns.DeletionTimestamp != nil {
		return nil
	}
	return ns
}

func (c *caches) secret(ns, name string) *corev1.Secret {
	inf, ok := c.secrets[name]
	if !ok {
		return nil
	}
	obj, ok, err := inf.GetStore().GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	s, _ := obj.(*corev1.Secret)
	return s
}

func (c *caches) serviceAccount(ns, name string) *corev1.ServiceAccount {
	inf, ok := c.serviceAccounts[name]
	if !ok {
		return nil
	}
	obj, ok, err := inf.GetStore().GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	sa, _ := obj.(*corev1.ServiceAccount)
	return sa
}

func (c *caches) stateSecret(ns, name string) (*corev1.Secret, error) {
	obj, ok, err := c.states.GetStore().GetByKey(ns + "/" + name)
	if err != nil {
		return nil, fmt.Errorf("read state secret %s/%s from the cache: %w", ns, name, err)
	}
	if !ok {
		return nil, nil
	}
	s, _ := obj.(*corev1.Secret)
	return s, nil
}

// namespaceNames are every cached namespace's names.
func (c *caches) namespaceNames() []string { return c.namespaces.GetStore().ListKeys() }
