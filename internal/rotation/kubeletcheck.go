package rotation

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/verify"
)

// verifyAsKubelet reads one written Secret back and resolves, by kubelet's rules, the
// credential for each distinct image of the dependent workloads, then pulls with it. A workload
// whose image host matches no key is the most common cause of 401 after a "correct" secret.
// It returns how many images of the credential's own projects the registry refused with the
// secret (auth or permission): only those say the credential is wrong. Another repository of
// the same registry may need a second pull secret the workload has of its own.
func (r *Runner) verifyAsKubelet(ctx context.Context, p *plan, rep *Report) (refused int) {
	var secret *corev1.Secret
	for _, res := range rep.Secrets {
		if res.Error == "" {
			s, err := r.Kube.CoreV1().Secrets(res.Namespace).Get(ctx, res.Name, metav1.GetOptions{})
			if err != nil {
				rep.fail(Transient, "read back secret %s/%s: %v", res.Namespace, res.Name, err)
				return 0
			}
			secret = s
			break
		}
	}
	if secret == nil {
		return 0
	}
	seen := map[string]bool{}
	start := r.Clock.Now()
	for _, w := range p.workloads {
		for _, img := range w.Images {
			if seen[img] {
				continue
			}
			seen[img] = true
			err := r.checker(p.cred.Name).PullCheckAsKubelet(ctx, img, []corev1.Secret{*secret})
			if err == nil {
				r.progress(p.cred.Name, "verify-kubelet", start, len(seen), 0, "%s pulls with the secret as kubelet resolves it", img)
				continue
			}
			if pe := (*verify.PullError)(nil); errors.As(err, &pe) && pe.Reason == verify.ReasonNoMatchingKey {
				continue // the plan already warned about it (hostMismatches), before anything was written
			}
			if verify.Authorised(err) {
				rep.warn("%s: image %s: %v (the credential was authorised)", w, img, err)
				continue
			}
			if !p.ownImage(img) {
				rep.warn("%s: image %s is not in the projects of credential %s and does not pull with its secret alone: %v", w, img, p.cred.Name, err)
				continue
			}
			rep.fail(Transient, "%s: image %s does not pull with the written secret as kubelet resolves it: %v", w, img, err)
			if verify.CredentialRefused(err) {
				refused++
			}
		}
	}
	return refused
}
