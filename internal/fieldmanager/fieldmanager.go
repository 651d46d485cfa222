// Package fieldmanager is the one name the rotator writes under. The API server records it in
// managedFields of every object the rotator creates or changes, so a GitOps tool (Argo CD's
// managedFieldsManagers, kubectl's --field-manager) can tell the rotator's fields from its own
// (docs/gitops.md).
package fieldmanager

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Name is the rotator's field manager.
const Name = "rotator"

// Create are the options of every create the rotator sends.
func Create() metav1.CreateOptions { return metav1.CreateOptions{FieldManager: Name} }

// Update are the options of every update the rotator sends.
func Update() metav1.UpdateOptions { return metav1.UpdateOptions{FieldManager: Name} }

// Patch are the options of every patch the rotator sends.
func Patch() metav1.PatchOptions { return metav1.PatchOptions{FieldManager: Name} }
