package restart

import (
	corev1 "k8s.io/api/core/v1"
)

// ViaImagePullSecrets is the Workload.Via of a template that names the secret
// in its own imagePullSecrets.
const ViaImagePullSecrets = "imagePullSecrets"

// viaServiceAccountPrefix prefixes the ServiceAccount name in Workload.Via.
const viaServiceAccountPrefix = "serviceaccount/"

// Depends reports whether pods created from tmpl will pull with secretName,
// and why (see Workload.Via).
//
// It mirrors the ServiceAccount admission plugin: a pod that lists any
// imagePullSecrets keeps exactly those, and only a pod that lists none gets
// its ServiceAccount's. So a template that names other secrets does not depend
// on secretName even if its ServiceAccount carries it. saHasSecret answers for
// the ServiceAccount (it may include bindings the caller is about to make);
// nil means no ServiceAccount has it.
func Depends(tmpl corev1.PodTemplateSpec, secretName string, saHasSecret func(sa string) bool) (via string, ok bool) {
	if len(tmpl.Spec.ImagePullSecrets) > 0 {
		for _, ref := range tmpl.Spec.ImagePullSecrets {
			if ref.Name == secretName {
				return ViaImagePullSecrets, true
			}
		}
		return "", false
	}
	sa := serviceAccountName(tmpl.Spec)
	if saHasSecret != nil && saHasSecret(sa) {
		return viaServiceAccountPrefix + sa, true
	}
	return "", false
}

// serviceAccountName is the ServiceAccount pods of spec run as. The API server
// fills serviceAccountName from the deprecated serviceAccount field on read,
// but objects built elsewhere (tests, manifests) may carry only the old one.
func serviceAccountName(spec corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}

// images lists the images of all init containers and containers of spec,
// without duplicates, so a caller can verify pulls once per image.
func images(spec corev1.PodSpec) []string {
	var out []string
	seen := map[string]bool{}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			if c.Image != "" && !seen[c.Image] {
				seen[c.Image] = true
				out = append(out, c.Image)
			}
		}
	}
	return out
}
