package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// The objects of every benchmark namespace.
const (
	benchLabel     = "rotator-bench"
	secretName     = "harbor-pull"
	serviceAccount = "default"
	// depDirect names the secret in its imagePullSecrets; depViaSA gets it from ServiceAccount
	// default, as the ServiceAccount admission plugin copies it into new pods.
	depDirect = "direct"
	depViaSA  = "via-sa"
)

// fixture creates and resets the benchmark namespaces with the admin client.
type fixture struct {
	admin    kubernetes.Interface
	image    string
	replicas int32
	// workers bounds the admin's concurrent requests while setting up (not measured).
	workers int
}

func nsName(i int) string { return fmt.Sprintf("bench-%04d", i) }

func nsNames(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, nsName(i))
	}
	return out
}

// ensure creates the namespaces with their ServiceAccount and two Deployments (existing
// objects are kept). The ServiceAccount is created here rather than left to the controller
// manager, which at 2,000 namespaces would take minutes at its own client rate limit.
func (f *fixture) ensure(ctx context.Context, nss []string) error {
	return f.each(ctx, nss, func(ctx context.Context, ns string) error {
		_, err := f.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{benchLabel: "true"},
		}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
		_, err = f.admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create serviceaccount %s/%s: %w", ns, serviceAccount, err)
		}
		for _, d := range []*appsv1.Deployment{
			sandbox.Deployment(ns, depDirect, f.image, secretName, f.replicas),
			sandbox.Deployment(ns, depViaSA, f.image, "", f.replicas),
		} {
			d.Labels = map[string]string{benchLabel: "true"}
			if _, err := f.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
			}
		}
		return nil
	})
}

// reset takes every namespace back to the starting point of a measurement: no pull secret, a
// ServiceAccount without imagePullSecrets. The Deployments keep their templates; each method
// must change them again.
func (f *fixture) reset(ctx context.Context, nss []string) error {
	unbind := []byte(`{"imagePullSecrets":null}`)
	return f.each(ctx, nss, func(ctx context.Context, ns string) error {
		err := f.admin.CoreV1().Secrets(ns).Delete(ctx, secretName, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete secret %s/%s: %w", ns, secretName, err)
		}
		_, err = f.admin.CoreV1().ServiceAccounts(ns).Patch(ctx, serviceAccount, types.MergePatchType, unbind, metav1.PatchOptions{})
		if err != nil {
			return fmt.Errorf("unbind serviceaccount %s/%s: %w", ns, serviceAccount, err)
		}
		return nil
	})
}

// each runs fn for every namespace, f.workers at a time, and returns the first error.
func (f *fixture) each(ctx context.Context, nss []string, fn func(context.Context, string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	work := make(chan string)
	for w := 0; w < f.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ns := range work {
				if err := fn(ctx, ns); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, ns := range nss {
		if ctx.Err() != nil {
			break
		}
		work <- ns
	}
	close(work)
	wg.Wait()
	return firstErr
}

// templates returns each benchmark Deployment's pod-template annotations, by "ns/name".
func (f *fixture) templates(ctx context.Context) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := f.deployments(ctx, func(d *appsv1.Deployment) {
		out[d.Namespace+"/"+d.Name] = d.Spec.Template.Annotations
	})
	return out, err
}

func (f *fixture) deployments(ctx context.Context, fn func(*appsv1.Deployment)) error {
	opts := metav1.ListOptions{LabelSelector: benchLabel + "=true", Limit: 500}
	for {
		l, err := f.admin.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return fmt.Errorf("list deployments: %w", err)
		}
		for i := range l.Items {
			fn(&l.Items[i])
		}
		if l.Continue == "" {
			return nil
		}
		opts.Continue = l.Continue
	}
}

// quiesce waits until the controller manager has observed every benchmark Deployment's
// template, so the rollouts a method started do not compete with the next measurement.
func (f *fixture) quiesce(ctx context.Context) (time.Duration, error) {
	timeout := quiesceTimeout
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		pending := 0
		err := f.deployments(ctx, func(d *appsv1.Deployment) {
			if d.Status.ObservedGeneration < d.Generation {
				pending++
			}
		})
		if err != nil {
			return 0, err
		}
		if pending == 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d deployments still not observed by the controller manager after %s", pending, timeout)
		}
		time.Sleep(2 * time.Second)
	}
}

// restartAll expects both Deployments of every namespace restarted: the end state of the
// runbook, the floors and the rotator under restart.policy Always.
func restartAll(string) bool { return true }

// checkEndState proves that a method reached the end state in every namespace of nss: the
// Secret holds a dockerconfigjson for registry, the ServiceAccount lists it, and the
// Deployments' templates changed since before (a new rollout was started) exactly where
// restart says ("ns/name"): no more, no fewer.
func (f *fixture) checkEndState(ctx context.Context, nss []string, registry string, before map[string]map[string]string, restart func(string) bool) error {
	st, err := f.served(ctx, registry)
	if err != nil {
		return err
	}
	// wrong counts, per namespace, the Deployments whose template changed where no restart
	// was expected or stayed where one was.
	wrong := map[string][]string{}
	err = f.deployments(ctx, func(d *appsv1.Deployment) {
		key := d.Namespace + "/" + d.Name
		changed := !equalMaps(before[key], d.Spec.Template.Annotations)
		switch want := restart(key); {
		case changed && !want:
			wrong[d.Namespace] = append(wrong[d.Namespace], d.Name+" restarted, not expected to be")
		case !changed && want:
			wrong[d.Namespace] = append(wrong[d.Namespace], d.Name+" not restarted (template unchanged)")
		}
	})
	if err != nil {
		return err
	}
	var missing []string
	for _, ns := range nss {
		switch {
		case !st[ns].Secret:
			missing = append(missing, ns+": no dockerconfigjson secret for "+registry)
		case !st[ns].Bound:
			missing = append(missing, ns+": serviceaccount not bound")
		case len(wrong[ns]) > 0:
			missing = append(missing, fmt.Sprintf("%s: %v", ns, wrong[ns]))
		}
	}
	if n := len(missing); n > 0 {
		if n > 5 {
			missing = append(missing[:5], fmt.Sprintf("... and %d more", len(missing)-5))
		}
		return fmt.Errorf("end state not reached in %d of %d namespaces: %v", n, len(nss), missing)
	}
	return nil
}

// nsServed is what one namespace holds of the end state: Secret holds a dockerconfigjson for
// the registry (written by credential CredentialID), Bound: ServiceAccount default lists it.
type nsServed struct {
	Secret, Bound bool
	CredentialID  string
}

// pullable: a pod created now in the namespace gets a pull secret for the registry.
func (s nsServed) pullable() bool { return s.Secret && s.Bound }

// served reads, by two paged lists across the cluster, what every namespace holds of the end
// state: the Secret of the benchmark's name and ServiceAccount default.
func (f *fixture) served(ctx context.Context, registry string) (map[string]nsServed, error) {
	out := map[string]nsServed{}
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", secretName).String(), Limit: 500}
	for {
		l, err := f.admin.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		for _, s := range l.Items {
			var cfg struct {
				Auths map[string]json.RawMessage `json:"auths"`
			}
			if s.Type == corev1.SecretTypeDockerConfigJson && json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) == nil && cfg.Auths[registry] != nil {
				v := out[s.Namespace]
				v.Secret, v.CredentialID = true, s.Annotations[secretsync.AnnotationCredentialID]
				out[s.Namespace] = v
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	opts = metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", serviceAccount).String(), Limit: 500}
	for {
		l, err := f.admin.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list serviceaccounts: %w", err)
		}
		for _, sa := range l.Items {
			for _, ref := range sa.ImagePullSecrets {
				if ref.Name == secretName {
					v := out[sa.Namespace]
					v.Bound = true
					out[sa.Namespace] = v
				}
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	return out, nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
