package config

import (
	"slices"

	"k8s.io/apimachinery/pkg/labels"
)

// Selects reports whether the namespace named name, with labels lbls, is a target: listed, or
// matched by the selector, and not excluded. The one rule for the run's plan and the service's
// namespace reconcile. An unparsable selector (refused by Validate) matches nothing.
func (t Targets) Selects(name string, lbls map[string]string) bool {
	if slices.Contains(t.ExcludeNamespaces, name) {
		return false
	}
	if slices.Contains(t.Namespaces, name) {
		return true
	}
	if t.NamespaceSelector == "" {
		return false
	}
	sel, err := labels.Parse(t.NamespaceSelector)
	return err == nil && sel.Matches(labels.Set(lbls))
}
