package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// KeychainFromSecrets returns go-containerregistry's kubelet-like keychain for the
// given pull secrets (authn/kubernetes.NewFromPullSecrets), for callers that want
// an authn.Keychain, such as crane-style copies.
//
// Before building it, every secret kubelet would read is checked with package
// pullsecret, so that a secret go-containerregistry (and in most cases kubelet)
// would refuse comes back as a typed *pullsecret.Error naming the secret and the
// entry, instead of a bare JSON error. Secrets kubelet ignores are ignored.
//
// The keychain differs from kubelet in one respect worth knowing: it names Docker
// Hub "index.docker.io", so an auths key "docker.io" (which kubelet accepts) does
// not match Hub images in it. PullCheckAsKubelet follows kubelet instead.
func KeychainFromSecrets(ctx context.Context, secrets []corev1.Secret) (authn.Keychain, error) {
	for i := range secrets {
		if !readByKubelet(&secrets[i]) {
			continue
		}
		_, err := pullsecret.ParseSecret(&secrets[i])
		// go-containerregistry fails on the same problems as kubelet, and also on a
		// key it cannot parse, which kubelet merely skips.
		if fatal := filterErrors(err, func(e error) bool {
			return pullsecret.BreaksKubelet(e) || errors.Is(e, pullsecret.ErrInvalidKey)
		}); fatal != nil {
			return nil, fatal
		}
	}
	return k8schain.NewFromPullSecrets(ctx, secrets)
}

// PullCheckAsKubelet checks that a pod listing these pull secrets could pull image:
// it picks the credentials from the secrets exactly as kubelet does (secret types
// and keys it reads, its key matching, most specific key first, the Docker Hub
// fallback) and pull-checks them in kubelet's order until one succeeds, as kubelet
// does. Pass the secrets in the order of the pod's imagePullSecrets.
//
// It returns nil when one credential can pull. Otherwise a *PullError:
// ReasonNoMatchingKey when no key matches the image (naming the image's host, the
// keys present and why each misses), ReasonInvalidSecret when a secret is one
// kubelet refuses as a whole, or the failure of the most specific credential, with
// Key and Source set.
//
// To prove a new credential rather than "some credential", pass only the secret
// that holds it: with old and new secrets both present, the old one may succeed.
// Each credential is proven as by PullCheck (a token naming nobody fails), and a
// credential that several matching keys hold is checked once.
//
// The whole call, every credential tried, takes at most c.Timeout (DefaultTimeout
// when zero): the credentials all talk to the same registry, so one that stalls
// would stall the next as well.
func (c Checker) PullCheckAsKubelet(ctx context.Context, image string, secrets []corev1.Secret) error {
	tctx, cancel := c.withTimeout(ctx)
	defer cancel()
	err := c.pullCheckAsKubelet(tctx, image, secrets)
	if pe := (*PullError)(nil); errors.As(err, &pe) {
		noteTimeout(tctx, pe)
	}
	return err
}

// pullCheckAsKubelet is PullCheckAsKubelet without its own deadline.
func (c Checker) pullCheckAsKubelet(ctx context.Context, image string, secrets []corev1.Secret) error {
	host, err := pullsecret.ImageHost(image)
	if err != nil {
		return &PullError{Image: image, Reason: ReasonOther, Detail: "invalid image reference: " + err.Error(), Err: err}
	}
	var kr pullsecret.Keyring
	var ignored []string
	for i := range secrets {
		s := &secrets[i]
		id := secretID(s)
		cfg, err := pullsecret.ParseSecret(s)
		if !readByKubelet(s) {
			why := "secret " + id + ": kubelet reads only data, not stringData"
			if err != nil {
				why = err.Error()
			}
			ignored = append(ignored, why)
			continue
		}
		if fatal := filterErrors(err, pullsecret.BreaksKubelet); fatal != nil {
			return &PullError{Image: image, Registry: host, Reason: ReasonInvalidSecret, Source: id, Detail: fatal.Error(), Err: fatal}
		}
		kr.Add(id, cfg)
	}

	candidates := kr.Lookup(image)
	if len(candidates) == 0 {
		return &PullError{Image: image, Registry: host, Reason: ReasonNoMatchingKey, Detail: noMatchDetail(image, host, kr, ignored)}
	}
	var first *PullError
	// kubelet tries a credential again under each key that holds it; the check does
	// not: a refused credential asked twice is one more failed login for GitLab's
	// IP ban and Harbor's login lock, and cannot answer differently.
	tried := map[[2]string]bool{}
	for _, cand := range candidates {
		k := [2]string{cand.Entry.Username, cand.Entry.Password}
		if tried[k] {
			continue
		}
		tried[k] = true
		auth := authn.FromConfig(authn.AuthConfig{Username: cand.Entry.Username, Password: cand.Entry.Password})
		err := c.pullCheck(ctx, image, auth)
		if err == nil {
			return nil
		}
		var pe *PullError
		if !errors.As(err, &pe) {
			pe = &PullError{Image: image, Registry: host, Reason: ReasonOther, Detail: err.Error(), Err: err}
		}
		pe.Key, pe.Source = cand.Key, cand.Source
		if first == nil {
			first = pe
		}
		if ctx.Err() != nil {
			break
		}
	}
	if n := len(candidates) - 1; n > 0 {
		first.Detail += fmt.Sprintf(" (%d further matching credential(s), which kubelet would try next, failed as well)", n)
	}
	return first
}

// readByKubelet mirrors kubelet's secretsToTrackedDockerConfigs: only these two
// type/key pairs, with a non-empty value, are read; everything else is skipped.
func readByKubelet(s *corev1.Secret) bool {
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		return len(s.Data[corev1.DockerConfigJsonKey]) > 0
	case corev1.SecretTypeDockercfg:
		return len(s.Data[corev1.DockerConfigKey]) > 0
	}
	return false
}

func secretID(s *corev1.Secret) string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "/" + s.Name
}

// noMatchDetail lists the keys present and why each misses image.
func noMatchDetail(image, host string, kr pullsecret.Keyring, ignored []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "image host %q", host)
	all := kr.Candidates()
	if len(all) == 0 {
		b.WriteString("; the secrets hold no usable entry")
	} else {
		b.WriteString("; keys present:")
		for i, c := range all {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %q (secret %s: %s)", c.Key, c.Source, pullsecret.MismatchReason(c.Key, image))
		}
	}
	if len(ignored) > 0 {
		b.WriteString("; ignored by kubelet: " + strings.Join(ignored, "; "))
	}
	return b.String()
}

// filterErrors returns the parts of a (possibly joined) error that keep reports
// true, joined again, or nil.
func filterErrors(err error, keep func(error) bool) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			if f := filterErrors(e, keep); f != nil {
				out = append(out, f)
			}
		}
		return errors.Join(out...)
	}
	if keep(err) {
		return err
	}
	return nil
}
