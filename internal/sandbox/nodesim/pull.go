package nodesim

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RegistryPull returns the default PullFunc: a GET of the image's manifest, authenticated with
// the keychain. Only a manifest request proves a pull (a registry token endpoint may hand an
// expired robot an empty token), and GET rather than HEAD because a HEAD error has no body, so
// the error would lack the registry's code (UNAUTHORIZED, DENIED, MANIFEST_UNKNOWN). Layers are
// not fetched. insecure allows plain http to the registry.
func RegistryPull(insecure bool) PullFunc {
	var nameOpts []name.Option
	if insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	return func(ctx context.Context, image string, keychain authn.Keychain) error {
		ref, err := name.ParseReference(image, nameOpts...)
		if err != nil {
			return err
		}
		_, err = remote.Get(ref,
			remote.WithContext(ctx),
			remote.WithAuthFromKeychain(keychain),
			// One attempt: the simulator retries with kubelet-like back-off and events, and
			// go-containerregistry's own retries would only delay the failure being reported.
			remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		)
		return err
	}
}

// podKeychain builds the keychain kubelet would use for pod: the pod's own imagePullSecrets, read
// now from its namespace (kubelet reads them at each pull, so a fixed secret heals the next
// retry). Secrets that cannot be read are skipped with kubelet's warning event.
func (s *Simulator) podKeychain(ctx context.Context, pod *corev1.Pod) (authn.Keychain, error) {
	var secrets []corev1.Secret
	var missing []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name == "" {
			continue
		}
		secret, err := s.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// kubelet treats every read error alike; only the secret's name is logged.
			s.log.Info("pull secret unavailable", "pod", podKey(pod), "secret", ref.Name, "err", err)
			missing = append(missing, ref.Name)
			continue
		}
		secrets = append(secrets, *secret)
	}
	if len(missing) > 0 {
		s.events.emit(ctx, pod, kubeletSource, "", corev1.EventTypeWarning, "FailedToRetrieveImagePullSecret",
			fmt.Sprintf("Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.",
				strings.Join(missing, ", ")))
	}
	kc, err := kauth.NewFromPullSecrets(ctx, secrets)
	if err != nil {
		// A malformed .dockerconfigjson; the error names no secret contents.
		return nil, fmt.Errorf("read pull secrets: %w", err)
	}
	return kc, nil
}

// kubeletImageName is the image as kubelet names it in events: with ":latest" added when the
// reference has neither tag nor digest.
func kubeletImageName(image string) string {
	if strings.Contains(image, "@") {
		return image
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if strings.Contains(last, ":") {
		return image
	}
	return image + ":latest"
}
