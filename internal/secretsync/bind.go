package secretsync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// HasPullSecret reports whether sa lists secretName in imagePullSecrets.
func HasPullSecret(sa *corev1.ServiceAccount, secretName string) bool {
	for _, r := range sa.ImagePullSecrets {
		if r.Name == secretName {
			return true
		}
	}
	return false
}

// Bind adds secretName to the ServiceAccount's imagePullSecrets once, keeping the others. sa is
// the ServiceAccount as the caller listed it (nil to read it). It reports whether it changed
// anything. The JSON patch tests the resourceVersion it read, so a concurrent edit is retried
// rather than overwritten, and it needs only the "patch" verb.
func Bind(ctx context.Context, c kubernetes.Interface, ns, name, secretName string, sa *corev1.ServiceAccount) (bool, error) {
	changed, _, err := BindFrom(ctx, c, ns, name, secretName, sa)
	return changed, err
}

// BindFrom is Bind that also says which resourceVersion of the ServiceAccount it patched, or
// found already bound: sa's, or the one it read again after a conflict (bindguard tells a
// removal by someone else from a cache lagging behind this write).
func BindFrom(ctx context.Context, c kubernetes.Interface, ns, name, secretName string, sa *corev1.ServiceAccount) (bool, string, error) {
	changed, from := false, ""
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if sa == nil {
			var err error
			if sa, err = c.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		from = sa.ResourceVersion
		if HasPullSecret(sa, secretName) {
			return nil
		}
		ops := []map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": sa.ResourceVersion}}
		ref := map[string]string{"name": secretName}
		if len(sa.ImagePullSecrets) == 0 {
			ops = append(ops, map[string]any{"op": "add", "path": "/imagePullSecrets", "value": []any{ref}})
		} else {
			ops = append(ops, map[string]any{"op": "add", "path": "/imagePullSecrets/-", "value": ref})
		}
		patch, _ := json.Marshal(ops)
		_, err := c.CoreV1().ServiceAccounts(ns).Patch(ctx, name, types.JSONPatchType, patch, fieldmanager.Patch())
		if err != nil && (apierrors.IsConflict(err) || apierrors.IsInvalid(err) || isTestFailed(err)) {
			sa = nil // someone changed it: read again
			return apierrors.NewConflict(corev1.Resource("serviceaccounts"), name, err)
		}
		if err == nil {
			changed = true
		}
		return err
	})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return false, "", fmt.Errorf("serviceaccount %s/%s does not exist: create it or remove it from targets.serviceAccounts", ns, name)
		}
		return false, "", describe(err, "serviceaccount", ns, name)
	}
	return changed, from, nil
}

// isTestFailed: a failed JSON-patch "test" op comes back as 422 or 500 depending on the server
// version; either way it means the object changed under us.
func isTestFailed(err error) bool {
	s, ok := err.(apierrors.APIStatus)
	return ok && strings.Contains(s.Status().Message, "testing value")
}

// Unbind removes secretName from the ServiceAccount's imagePullSecrets, keeping the others (sa as
// the caller has it, nil to read it). Like Bind, the JSON patch tests the resourceVersion it read.
func Unbind(ctx context.Context, c kubernetes.Interface, ns, name, secretName string, sa *corev1.ServiceAccount) (bool, error) {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if sa == nil {
			var err error
			if sa, err = c.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		i := slices.IndexFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secretName })
		if i < 0 {
			return nil
		}
		patch, _ := json.Marshal([]map[string]any{
			{"op": "test", "path": "/metadata/resourceVersion", "value": sa.ResourceVersion},
			{"op": "remove", "path": fmt.Sprintf("/imagePullSecrets/%d", i)},
		})
		_, err := c.CoreV1().ServiceAccounts(ns).Patch(ctx, name, types.JSONPatchType, patch, fieldmanager.Patch())
		if err != nil && (apierrors.IsConflict(err) || apierrors.IsInvalid(err) || isTestFailed(err)) {
			sa = nil
			return apierrors.NewConflict(corev1.Resource("serviceaccounts"), name, err)
		}
		if err == nil {
			changed = true
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, describe(err, "serviceaccount", ns, name)
	}
	return changed, nil
}
