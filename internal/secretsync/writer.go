package secretsync

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Action is what Write did to one Secret.
type Action string

// Actions of Write.
const (
	Unchanged Action = "unchanged"
	Created   Action = "created"
	Updated   Action = "updated"
	// Replaced: the rotator's Secret was deleted and created again, because it could not be
	// changed in place: an adopted Secret of another type, or one its tenant made immutable.
	Replaced Action = "replaced"
)

// ErrNotManaged is returned (wrapped) when a same-named Secret exists that the rotator did not
// write and the config does not allow adopting it.
var ErrNotManaged = errors.New("secret exists and is not managed by rotator")

// Writer writes managed Secrets.
type Writer struct {
	Client kubernetes.Interface
}

// Write makes Secret ns/name hold content, and returns what it did and the Secret's UID (for
// Events that `kubectl describe` finds). existing is the managed Secret the caller already listed
// (nil when its list had none), which spares a GET per namespace on the common path. owner says
// whether a same-named Secret is the rotator's to write (Owner): one that is not is left as it
// is (ErrNotManaged).
func (w *Writer) Write(ctx context.Context, ns, name string, content Content, existing *corev1.Secret, owner Owner) (Action, types.UID, error) {
	desired, err := content.Secret(ns, name)
	if err != nil {
		return "", "", err
	}
	fp := desired.Annotations[AnnotationFingerprint]
	current := func(s *corev1.Secret) bool {
		return IsManaged(s, content.Credential) && owner.Owns(s) && UpToDate(s, fp)
	}
	if existing != nil && current(existing) {
		return Unchanged, existing.UID, nil
	}
	var action Action
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if existing == nil {
			created, err := w.Client.CoreV1().Secrets(ns).Create(ctx, desired, fieldmanager.Create())
			if err == nil {
				action, existing = Created, created
				return nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return err
			}
			// The list was stale or the Secret is someone else's: look at it.
			if existing, err = w.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		if !owner.Owns(existing) {
			return fmt.Errorf("%w: secret %s/%s carries no credential id the rotator issued (labels alone are no proof of ownership): set targets.adopt: true in the config to take it over, or delete it", ErrNotManaged, ns, name)
		}
		if current(existing) {
			action = Unchanged
			return nil
		}
		if existing.Type != corev1.SecretTypeDockerConfigJson || immutable(existing) {
			created, err := w.replace(ctx, existing, desired, &action)
			if err == nil {
				existing = created
			}
			return err
		}
		update := existing.DeepCopy()
		update.Labels = merge(update.Labels, desired.Labels)
		update.Annotations = merge(update.Annotations, desired.Annotations)
		update.Data = desired.Data
		updated, err := w.Client.CoreV1().Secrets(ns).Update(ctx, update, fieldmanager.Update())
		if apierrors.IsConflict(err) {
			existing = nil // re-read on retry
			return err
		}
		if err == nil {
			action, existing = Updated, updated
		}
		return err
	})
	if err != nil {
		return "", "", describe(err, "secret", ns, name)
	}
	var uid types.UID
	if existing != nil {
		uid = existing.UID
	}
	return action, uid, nil
}

// replace deletes the rotator's Secret that cannot be updated (of the wrong type, say Opaque, or
// made immutable by its tenant) and creates the right one. The UID precondition makes sure it
// deletes exactly the Secret it looked at. An immutable Secret is replaced rather than left
// holding its old credential, because that would hold the revocation of the credential back for
// every namespace: one tenant would keep a credential alive that all the others have dropped.
// The price is the tenant's own: between the delete and the create its namespace has no Secret
// (a pod starting then retries its pull), and a process that dies there leaves it so until the
// next run or, under `rotator run`, the next reconcile, which the deletion itself triggers.
func (w *Writer) replace(ctx context.Context, existing, desired *corev1.Secret, action *Action) (*corev1.Secret, error) {
	uid := existing.UID
	err := w.Client.CoreV1().Secrets(existing.Namespace).Delete(ctx, existing.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	created, err := w.Client.CoreV1().Secrets(existing.Namespace).Create(ctx, desired, fieldmanager.Create())
	if err != nil {
		return nil, err
	}
	*action = Replaced
	return created, nil
}

func immutable(s *corev1.Secret) bool { return s.Immutable != nil && *s.Immutable }

func merge(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// describe turns an API error into one that names the object and says what to do.
func describe(err error, kind, ns, name string) error {
	switch {
	case errors.Is(err, ErrNotManaged):
		return err
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s %s/%s: the rotator's identity is not allowed to write it: bind it to the rotator's role in namespace %s (deploy/namespaced/targets.yaml), and check that %q is in deploy/base/managed-secret-names.yaml: %w", kind, ns, name, ns, name, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s %s/%s: namespace %s does not exist (create it or remove it from targets): %w", kind, ns, name, ns, err)
	}
	return fmt.Errorf("%s %s/%s: %w", kind, ns, name, err)
}
