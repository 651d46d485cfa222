package bindguard

import (
	"bytes"

	corev1 "k8s.io/api/core/v1"
)

// remover names who most likely removed the entry: the manager owning f:imagePullSecrets (one
// that applies the list owns it whole, the list being atomic), else the last writer of the
// ServiceAccount other than the rotator (an update that drops the field leaves it unowned).
func (g *Guard) remover(sa *corev1.ServiceAccount) string {
	var owner, last string
	var ownerAt, lastAt int64 = -1, -1
	for _, mf := range sa.ManagedFields {
		if mf.Manager == "" || mf.Manager == g.self() {
			continue
		}
		at := int64(0)
		if mf.Time != nil {
			at = mf.Time.Unix()
		}
		if mf.FieldsV1 != nil && bytes.Contains(mf.FieldsV1.Raw, []byte(`"f:imagePullSecrets"`)) && at >= ownerAt {
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
