package controller

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/rotatorhq/rotator/internal/state"
)

// handle maps every informer event to the keys it concerns. Handlers only enqueue: the
// reconcile reads the caches when a worker takes the key, so a burst of events on one
// namespace is one reconcile (the queue holds each key once).
func (c *Controller) handle() error {
	regs := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{c.caches.namespaces, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.namespaceChanged(obj) },
			UpdateFunc: func(oldObj, newObj any) {
				o, n := meta(oldObj), meta(newObj)
				// A resync (same version), a label change or the start of a deletion.
				if o == nil || n == nil || o.GetResourceVersion() == n.GetResourceVersion() ||
					!maps.Equal(o.GetLabels(), n.GetLabels()) || (o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil) {
					c.namespaceChanged(newObj)
				}
			},
		}},
		{c.caches.states, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.stateChanged(nil, obj) },
			UpdateFunc: func(oldObj, newObj any) {
				c.stateChanged(oldObj, newObj)
			},
		}},
	}
	for name, inf := range c.caches.secrets {
		regs = append(regs, struct {
			inf cache.SharedIndexInformer
			h   cache.ResourceEventHandler
		}{inf, c.objectHandler(func(ns string) { c.secretChanged(ns, name) })})
	}
	for name, inf := range c.caches.serviceAccounts {
		regs = append(regs, struct {
			inf cache.SharedIndexInformer
			h   cache.ResourceEventHandler
		}{inf, c.objectHandler(func(ns string) { c.serviceAccountChanged(ns, name) })})
	}
	for _, r := range regs {
		if _, err := r.inf.AddEventHandler(r.h); err != nil {
			return err
		}
	}
	return nil
}

// objectHandler calls changed with the namespace of any added, updated or deleted object.
func (c *Controller) objectHandler(changed func(ns string)) cache.ResourceEventHandler {
	on := func(obj any) {
		k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		if err != nil {
			return
		}
		if ns, _, err := cache.SplitMetaNamespaceKey(k); err == nil && ns != "" {
			changed(ns)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, n any) { on(n) }, DeleteFunc: on}
}

func (c *Controller) namespaceChanged(obj any) {
	m := meta(obj)
	if m == nil {
		return
	}
	for name := range c.creds {
		c.enqueue(key{credential: name, namespace: m.GetName()})
	}
}

func (c *Controller) secretChanged(ns, secretName string) {
	for name, cred := range c.creds {
		if cred.Targets.SecretName == secretName {
			c.enqueue(key{credential: name, namespace: ns})
		}
	}
}

func (c *Controller) serviceAccountChanged(ns, saName string) {
	for name, cred := range c.creds {
		for _, sa := range cred.Targets.ServiceAccounts {
			if sa == saName {
				c.enqueue(key{credential: name, namespace: ns})
			}
		}
	}
}

// stateChanged: a new current credential (a promotion, a first issue, an abandoned pending one)
// is due in every target namespace; reconciles of namespaces already holding it send nothing.
func (c *Controller) stateChanged(oldObj, newObj any) {
	n, ok := newObj.(*corev1.Secret)
	if !ok {
		return
	}
	cred, cluster := state.SplitKey(n.Labels[stateLabel])
	if _, ok := c.creds[cred]; !ok || cluster != c.Cluster {
		return // another credential's, or the same credential's in another cluster of the fleet
	}
	if o, ok := oldObj.(*corev1.Secret); ok && o.ResourceVersion != n.ResourceVersion && sameCredentials(o, n) {
		return
	}
	for _, ns := range c.caches.namespaceNames() {
		c.enqueue(key{credential: cred, namespace: ns})
	}
}

// enqueue queues k, or parks it at once while its credential's run is in progress: the run's own
// writes (an event per Secret) and state changes (every target namespace) would otherwise fill
// the queue with every target namespace, each to be parked when a worker takes it, and the
// queue's sets keep the room they grew to.
func (c *Controller) enqueue(k key) {
	if c.Locks.TryReconcile(k.credential) {
		c.Locks.DoneReconcile(k.credential)
		c.queue.Add(k)
		return
	}
	c.park(c.ctx, k)
}

// sameCredentials: the current and pending credentials of two versions of a state Secret agree.
func sameCredentials(a, b *corev1.Secret) bool {
	sa, errA := state.Decode(a)
	sb, errB := state.Decode(b)
	if errA != nil || errB != nil {
		return false
	}
	id := func(i *state.Issued) string {
		if i == nil {
			return ""
		}
		return i.ID + "\x00" + i.Password
	}
	return id(sa.Current) == id(sb.Current) && id(sa.Pending) == id(sb.Pending)
}

// meta is the object's metadata, through a deletion tombstone too.
func meta(obj any) metav1.Object {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, _ := obj.(metav1.Object)
	return m
}
