package controller

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The service's runs plan from the controller's caches (Controller.Observed): every cached
// namespace, and the Secrets and ServiceAccounts of the watched names; a name not watched says
// so, and the plan lists it instead.
func TestObservedIsWhatTheCachesHold(t *testing.T) {
	pull := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "a"}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "a"}}
	r := start(t, stateSecret(t, "1"), pull, sa)
	o := r.c.Observed()
	nss := o.Namespaces()
	if len(nss) != 1 || nss[0].GetName() != "a" || nss[0].GetLabels()["team"] != "x" {
		t.Errorf("namespaces: %v", nss)
	}
	// The fake API server ignores field selectors, so the cache of "pull" holds every Secret;
	// the plan keeps only those of the name it asked for.
	ss, ok := o.Secrets("pull")
	if !ok || !slices.ContainsFunc(ss, func(s *corev1.Secret) bool { return s.Namespace == "a" && s.Name == "pull" }) {
		t.Errorf("the cache of Secrets named pull holds %d objects, not a/pull (watched %v)", len(ss), ok)
	}
	if _, ok := o.Secrets("other"); ok {
		t.Error("a Secret name no credential manages is reported watched")
	}
	if sas, ok := o.ServiceAccounts("default"); !ok || len(sas) != 1 || sas[0].Name != "default" {
		t.Errorf("the cache of ServiceAccounts named default holds %d objects, not a/default (watched %v)", len(sas), ok)
	}
	if _, ok := o.ServiceAccounts("builder"); ok {
		t.Error("a ServiceAccount name no credential binds is reported watched")
	}
}
