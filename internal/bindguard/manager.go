package bindguard

import (
	"bytes"

	corev1 "k8s.io/api/core/v1"
)

// Remover names who most likely removed the entry from sa, from its managedFields: the
// manager owning f:imagePullSecrets (one that applies the list owns it whole, the list being
// atomic), else the last writer of the ServiceAccount other than the rotator (an update that
// drops the field leaves it unowned). "" when sa carries no managedFields: the controller's
// cache drops them (the caller then reads the object), and the API server records none for an
// object that was never server-side applied (Kubernetes v1.37.2, seen in test/e2e).
func (g *Guard) Remover(sa *corev1.ServiceAccount) string {
	var owner, last string
	var ownerAt, lastAt int64 = -1, -1
	for _, mf := range sa.ManagedFields {
		// before-first-apply is no client: the API server's name for what Updates wrote before
		// the object's first server-side apply.
		if mf.Manager == "" || mf.Manager == g.self() || mf.Manager == "before-first-apply" {
			continue
		}
		at := int64(0)
		if mf.Time != nil {
			at = mf.Time.Unix()
		}
		if mf.FieldsV1 != nil && bytes.Contains(mf.FieldsV1.GetRawBytes(), []byte(`"f:imagePullSecrets"`)) && at >= ownerAt {
			owner, ownerAt = mf.Manager, at
		}
		if at >= lastAt {
			last, lastAt = mf.Manager, at
		}
	}
	if owner != "" {
		return owner
	}
	return last
}
