package rotation

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/verify"
)

// verifyAsKubelet reads one written Secret back and resolves, by kubelet's rules, the
// credential for each distinct image of the dependent workloads, then pulls with it. A workload
// whose image host matches no key is the most common cause of 401 after a "correct" secret.
// It returns how many images the registry refused with the secret (auth or permission) among
// workloads that have no other pull secret: only those say the credential is wrong. A workload
// with a second pull secret of its own may pull that image with it.
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
			if others := p.otherPullSecrets(w); len(others) > 0 {
				// The workload may pull this image with a secret of its own: no verdict on ours.
				rep.warn("%s: image %s does not pull with secret %s alone (the workload also has %v): %v", w, img, p.cred.Targets.SecretName, others, err)
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

// otherPullSecrets are the pull secrets w's pods have besides the managed one: named by its
// template, or by its ServiceAccount when it gets the managed one from there.
func (p *plan) otherPullSecrets(w restart.Workload) []string {
	out := append([]string(nil), w.OtherPullSecrets...)
	if sa := p.serviceAccounts.get(w.Namespace, w.ServiceAccount); sa != nil && len(w.OtherPullSecrets) == 0 {
		for _, r := range sa.ImagePullSecrets {
			if r.Name != p.cred.Targets.SecretName {
				out = append(out, r.Name)
			}
		}
	}
	return out
}
