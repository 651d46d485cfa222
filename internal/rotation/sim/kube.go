package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
)

// newClientset is a fake clientset that behaves like an API server where the core relies on it.
// The fake's object tracker stores objects as given: it assigns no resourceVersion and never
// answers 409, so the state Store's optimistic concurrency would be a no-op (and its second
// Save of a new state Secret would fail with AlreadyExists). It also accepts writes to an
// immutable Secret and objects in a namespace that does not exist. The reactor installed here,
// ahead of the tracker's own, fixes the three.
func newClientset(c *Cluster) *fake.Clientset {
	cs := fake.NewSimpleClientset()
	tracker := cs.Tracker()
	base := k8stesting.ObjectReaction(tracker)
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			return c.apiCreate(tracker, a)
		case k8stesting.UpdateActionImpl:
			return c.apiUpdate(tracker, a)
		case k8stesting.PatchActionImpl:
			return c.apiPatch(tracker, base, a)
		}
		return false, nil, nil
	})
	// A safety net for writes that bypass the client wrapper (kinds it does not wrap): a dead
	// process writes nothing.
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.GetVerb() {
		case "get", "list", "watch":
			return false, nil, nil
		}
		if r := c.w.active(); r != nil && r.cluster == c && r.dead {
			return true, nil, errDead
		}
		return false, nil, nil
	})
	return cs
}

var namespacesGVR = corev1.SchemeGroupVersion.WithResource("namespaces")

func (c *Cluster) nextRV() string {
	c.rv++
	return strconv.FormatInt(c.rv, 10)
}

func (c *Cluster) apiCreate(tr k8stesting.ObjectTracker, a k8stesting.CreateActionImpl) (bool, runtime.Object, error) {
	if a.GetSubresource() != "" {
		return false, nil, nil
	}
	obj := a.GetObject().DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return true, nil, err
	}
	ns := a.GetNamespace()
	if ns != "" {
		if _, err := tr.Get(namespacesGVR, "", ns); err != nil {
			return true, nil, apierrors.NewNotFound(corev1.Resource("namespaces"), ns)
		}
	}
	if m.GetUID() == "" {
		c.uid++
		m.SetUID(types.UID(fmt.Sprintf("%s-%08d", c.Name, c.uid)))
	}
	m.SetResourceVersion(c.nextRV())
	if err := tr.Create(a.GetResource(), obj, ns); err != nil {
		return true, nil, err
	}
	return true, obj.DeepCopyObject(), nil
}

func (c *Cluster) apiUpdate(tr k8stesting.ObjectTracker, a k8stesting.UpdateActionImpl) (bool, runtime.Object, error) {
	if a.GetSubresource() != "" {
		return false, nil, nil
	}
	obj := a.GetObject().DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return true, nil, err
	}
	gvr, ns := a.GetResource(), a.GetNamespace()
	existing, err := tr.Get(gvr, ns, m.GetName())
	if err != nil {
		return true, nil, err
	}
	em, _ := meta.Accessor(existing)
	if rv := m.GetResourceVersion(); rv != "" && rv != em.GetResourceVersion() {
		return true, nil, apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if err := immutableSecretCheck(existing, obj); err != nil {
		return true, nil, err
	}
	m.SetUID(em.GetUID())
	m.SetResourceVersion(c.nextRV())
	if err := tr.Update(gvr, obj, ns); err != nil {
		return true, nil, err
	}
	return true, obj.DeepCopyObject(), nil
}

func (c *Cluster) apiPatch(tr k8stesting.ObjectTracker, base k8stesting.ReactionFunc, a k8stesting.PatchActionImpl) (bool, runtime.Object, error) {
	if a.GetSubresource() != "" || a.GetPatchType() == types.ApplyPatchType {
		return false, nil, nil
	}
	gvr, ns := a.GetResource(), a.GetNamespace()
	before, err := tr.Get(gvr, ns, a.GetName())
	if err != nil {
		return true, nil, err
	}
	if obj, ok := templateAnnotationPatch(before, a); ok {
		m, _ := meta.Accessor(obj)
		m.SetResourceVersion(c.nextRV())
		if err := tr.Update(gvr, obj, ns); err != nil {
			return true, nil, err
		}
		return true, obj.DeepCopyObject(), nil
	}
	_, obj, err := base(a)
	if err != nil {
		if _, ok := err.(apierrors.APIStatus); !ok {
			// A failed JSON-patch test comes back from the API server as a status error.
			err = apierrors.NewInternalError(err)
		}
		return true, nil, err
	}
	if err := immutableSecretCheck(before, obj); err != nil {
		_ = tr.Update(gvr, before, ns) // undo: the API server would not have stored it
		return true, nil, err
	}
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(c.nextRV())
	if err := tr.Update(gvr, obj, ns); err != nil {
		return true, nil, err
	}
	return true, obj.DeepCopyObject(), nil
}

// templateAnnotationPatch applies the restart's strategic-merge patch of a Deployment's
// pod-template annotations directly: the same result as the generic strategic merge, which is
// an eighth of the simulation's time. ok is false for any other patch.
func templateAnnotationPatch(before runtime.Object, a k8stesting.PatchActionImpl) (runtime.Object, bool) {
	d, isDeploy := before.(*appsv1.Deployment)
	if !isDeploy || a.GetPatchType() != types.StrategicMergePatchType {
		return nil, false
	}
	var p struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	var generic map[string]map[string]map[string]map[string]json.RawMessage
	if json.Unmarshal(a.GetPatch(), &p) != nil || json.Unmarshal(a.GetPatch(), &generic) != nil ||
		len(generic) != 1 || len(generic["spec"]) != 1 || len(generic["spec"]["template"]) != 1 || len(generic["spec"]["template"]["metadata"]) != 1 {
		return nil, false
	}
	for _, v := range p.Spec.Template.Metadata.Annotations {
		if v == "" {
			return nil, false // a deletion ("key": null) is left to the generic merge
		}
	}
	d = d.DeepCopy()
	if d.Spec.Template.Annotations == nil {
		d.Spec.Template.Annotations = map[string]string{}
	}
	for k, v := range p.Spec.Template.Metadata.Annotations {
		d.Spec.Template.Annotations[k] = v
	}
	return d, true
}

// immutableSecretCheck refuses what the API server refuses: a change of an immutable Secret's
// data or immutability, and a change of any Secret's type.
func immutableSecretCheck(before, after runtime.Object) error {
	old, ok := before.(*corev1.Secret)
	if !ok {
		return nil
	}
	upd := after.(*corev1.Secret)
	var errs field.ErrorList
	if old.Type != upd.Type {
		errs = append(errs, field.Invalid(field.NewPath("type"), upd.Type, "field is immutable"))
	}
	if old.Immutable != nil && *old.Immutable {
		if !equality.Semantic.DeepEqual(old.Data, upd.Data) || len(upd.StringData) > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if upd.Immutable == nil || !*upd.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Secret").GroupKind(), old.Name, errs)
}

// kube is the client one run of the core gets: every call goes through the run's gate (crash,
// lost lock, cancelled context, call log) before it reaches the fake clientset.
type kube struct {
	kubernetes.Interface
	cs *fake.Clientset
	r  *run
}

func (k *kube) CoreV1() corev1client.CoreV1Interface {
	return &coreV1{CoreV1Interface: k.cs.CoreV1(), k: k}
}

func (k *kube) AppsV1() appsv1client.AppsV1Interface {
	return &appsV1{AppsV1Interface: k.cs.AppsV1(), k: k}
}

// call runs fn through the gate: what names the call in the trace.
func call[T any](k *kube, ctx context.Context, kind callKind, what string, fn func() (T, error)) (T, error) {
	var out T
	err := k.r.gate(ctx, kind, what, func() (bool, error) {
		if k.r.cutOff(what) {
			return false, errPartitioned
		}
		var err error
		out, err = fn()
		return err == nil, err
	})
	return out, err
}

type coreV1 struct {
	corev1client.CoreV1Interface
	k *kube
}

func (c *coreV1) Secrets(ns string) corev1client.SecretInterface {
	return &secrets{SecretInterface: c.CoreV1Interface.Secrets(ns), k: c.k, ns: ns}
}

func (c *coreV1) ServiceAccounts(ns string) corev1client.ServiceAccountInterface {
	return &serviceAccounts{ServiceAccountInterface: c.CoreV1Interface.ServiceAccounts(ns), k: c.k, ns: ns}
}

func (c *coreV1) Namespaces() corev1client.NamespaceInterface {
	return &namespaces{NamespaceInterface: c.CoreV1Interface.Namespaces(), k: c.k}
}

type secrets struct {
	corev1client.SecretInterface
	k  *kube
	ns string
}

func (s *secrets) Create(ctx context.Context, o *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error) {
	return call(s.k, ctx, kubeWrite, "create secret "+s.ns+"/"+o.Name, func() (*corev1.Secret, error) { return s.SecretInterface.Create(ctx, o, opts) })
}

func (s *secrets) Update(ctx context.Context, o *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error) {
	return call(s.k, ctx, kubeWrite, "update secret "+s.ns+"/"+o.Name, func() (*corev1.Secret, error) { return s.SecretInterface.Update(ctx, o, opts) })
}

func (s *secrets) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*corev1.Secret, error) {
	return call(s.k, ctx, kubeWrite, "patch secret "+s.ns+"/"+name, func() (*corev1.Secret, error) {
		return s.SecretInterface.Patch(ctx, name, pt, data, opts, sub...)
	})
}

func (s *secrets) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	_, err := call(s.k, ctx, kubeWrite, "delete secret "+s.ns+"/"+name, func() (struct{}, error) { return struct{}{}, s.SecretInterface.Delete(ctx, name, opts) })
	return err
}

func (s *secrets) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error) {
	return call(s.k, ctx, kubeRead, "get secret "+s.ns+"/"+name, func() (*corev1.Secret, error) { return s.SecretInterface.Get(ctx, name, opts) })
}

func (s *secrets) List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	return call(s.k, ctx, kubeRead, "list secrets"+where(s.ns), func() (*corev1.SecretList, error) { return s.SecretInterface.List(ctx, opts) })
}

type serviceAccounts struct {
	corev1client.ServiceAccountInterface
	k  *kube
	ns string
}

func (s *serviceAccounts) Create(ctx context.Context, o *corev1.ServiceAccount, opts metav1.CreateOptions) (*corev1.ServiceAccount, error) {
	return call(s.k, ctx, kubeWrite, "create serviceaccount "+s.ns+"/"+o.Name, func() (*corev1.ServiceAccount, error) {
		return s.ServiceAccountInterface.Create(ctx, o, opts)
	})
}

func (s *serviceAccounts) Update(ctx context.Context, o *corev1.ServiceAccount, opts metav1.UpdateOptions) (*corev1.ServiceAccount, error) {
	return call(s.k, ctx, kubeWrite, "update serviceaccount "+s.ns+"/"+o.Name, func() (*corev1.ServiceAccount, error) {
		return s.ServiceAccountInterface.Update(ctx, o, opts)
	})
}

func (s *serviceAccounts) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*corev1.ServiceAccount, error) {
	return call(s.k, ctx, kubeWrite, "patch serviceaccount "+s.ns+"/"+name, func() (*corev1.ServiceAccount, error) {
		return s.ServiceAccountInterface.Patch(ctx, name, pt, data, opts, sub...)
	})
}

func (s *serviceAccounts) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ServiceAccount, error) {
	return call(s.k, ctx, kubeRead, "get serviceaccount "+s.ns+"/"+name, func() (*corev1.ServiceAccount, error) {
		return s.ServiceAccountInterface.Get(ctx, name, opts)
	})
}

func (s *serviceAccounts) List(ctx context.Context, opts metav1.ListOptions) (*corev1.ServiceAccountList, error) {
	return call(s.k, ctx, kubeRead, "list serviceaccounts"+where(s.ns), func() (*corev1.ServiceAccountList, error) {
		return s.ServiceAccountInterface.List(ctx, opts)
	})
}

type namespaces struct {
	corev1client.NamespaceInterface
	k *kube
}

func (n *namespaces) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Namespace, error) {
	return call(n.k, ctx, kubeRead, "get namespace "+name, func() (*corev1.Namespace, error) { return n.NamespaceInterface.Get(ctx, name, opts) })
}

func (n *namespaces) List(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	return call(n.k, ctx, kubeRead, "list namespaces", func() (*corev1.NamespaceList, error) { return n.NamespaceInterface.List(ctx, opts) })
}

type appsV1 struct {
	appsv1client.AppsV1Interface
	k *kube
}

func (a *appsV1) Deployments(ns string) appsv1client.DeploymentInterface {
	return &deployments{DeploymentInterface: a.AppsV1Interface.Deployments(ns), k: a.k, ns: ns}
}

func (a *appsV1) StatefulSets(ns string) appsv1client.StatefulSetInterface {
	return &statefulSets{StatefulSetInterface: a.AppsV1Interface.StatefulSets(ns), k: a.k, ns: ns}
}

func (a *appsV1) DaemonSets(ns string) appsv1client.DaemonSetInterface {
	return &daemonSets{DaemonSetInterface: a.AppsV1Interface.DaemonSets(ns), k: a.k, ns: ns}
}

type deployments struct {
	appsv1client.DeploymentInterface
	k  *kube
	ns string
}

func (d *deployments) Get(ctx context.Context, name string, opts metav1.GetOptions) (*appsv1.Deployment, error) {
	return call(d.k, ctx, kubeRead, "get deployment "+d.ns+"/"+name, func() (*appsv1.Deployment, error) { return d.DeploymentInterface.Get(ctx, name, opts) })
}

func (d *deployments) List(ctx context.Context, opts metav1.ListOptions) (*appsv1.DeploymentList, error) {
	return call(d.k, ctx, kubeRead, "list deployments"+where(d.ns), func() (*appsv1.DeploymentList, error) { return d.DeploymentInterface.List(ctx, opts) })
}

func (d *deployments) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*appsv1.Deployment, error) {
	return call(d.k, ctx, kubeWrite, "patch deployment "+d.ns+"/"+name, func() (*appsv1.Deployment, error) {
		return d.DeploymentInterface.Patch(ctx, name, pt, data, opts, sub...)
	})
}

func (d *deployments) Update(ctx context.Context, o *appsv1.Deployment, opts metav1.UpdateOptions) (*appsv1.Deployment, error) {
	return call(d.k, ctx, kubeWrite, "update deployment "+d.ns+"/"+o.Name, func() (*appsv1.Deployment, error) {
		return d.DeploymentInterface.Update(ctx, o, opts)
	})
}

type statefulSets struct {
	appsv1client.StatefulSetInterface
	k  *kube
	ns string
}

func (s *statefulSets) List(ctx context.Context, opts metav1.ListOptions) (*appsv1.StatefulSetList, error) {
	return call(s.k, ctx, kubeRead, "list statefulsets"+where(s.ns), func() (*appsv1.StatefulSetList, error) { return s.StatefulSetInterface.List(ctx, opts) })
}

func (s *statefulSets) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*appsv1.StatefulSet, error) {
	return call(s.k, ctx, kubeWrite, "patch statefulset "+s.ns+"/"+name, func() (*appsv1.StatefulSet, error) {
		return s.StatefulSetInterface.Patch(ctx, name, pt, data, opts, sub...)
	})
}

type daemonSets struct {
	appsv1client.DaemonSetInterface
	k  *kube
	ns string
}

func (d *daemonSets) List(ctx context.Context, opts metav1.ListOptions) (*appsv1.DaemonSetList, error) {
	return call(d.k, ctx, kubeRead, "list daemonsets"+where(d.ns), func() (*appsv1.DaemonSetList, error) { return d.DaemonSetInterface.List(ctx, opts) })
}

func (d *daemonSets) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*appsv1.DaemonSet, error) {
	return call(d.k, ctx, kubeWrite, "patch daemonset "+d.ns+"/"+name, func() (*appsv1.DaemonSet, error) {
		return d.DaemonSetInterface.Patch(ctx, name, pt, data, opts, sub...)
	})
}

// errPartitioned is what a call to a cluster cut off from the rotator returns.
var errPartitioned = errors.New("dial tcp 10.0.0.9:6443: connect: no route to host (sim: the cluster is partitioned)")

// cutOff reports whether call what of run r meets a partition: the cluster's partition has
// begun, and the call is not about the rotator's own namespace (its state and lock).
func (r *run) cutOff(what string) bool {
	p := r.cluster.partition
	if p.runs == 0 || r.calls < r.partitionFrom || r.nested {
		return false
	}
	return !strings.Contains(what, " "+stateNamespace+"/") && !strings.HasSuffix(what, where(stateNamespace))
}

func where(ns string) string {
	if ns == "" {
		return " (all namespaces)"
	}
	return " in " + ns
}
