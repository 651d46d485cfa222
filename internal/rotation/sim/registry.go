package sim

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/verify"
)

// Registry is the simulated registry: it accepts a login iff the provider holds that robot live
// (not deleted, disabled or expired at the world's time), lets it pull only from its projects,
// and answers 404 for a tag it does not have.
type Registry struct {
	w    *World
	tags map[string]bool // "project/repo:tag"
	refs map[string]imageRef
	// kubelet caches what kubelet would offer for an image from one pull secret's content.
	kubelet map[string][]pullsecret.Candidate
}

// imageRef is an image reference, parsed once.
type imageRef struct {
	host, repo, project, tag string
	err                      error
}

func (g *Registry) parse(image string) imageRef {
	if r, ok := g.refs[image]; ok {
		return r
	}
	var r imageRef
	ref, err := name.ParseReference(image)
	if err != nil {
		r.err = err
	} else {
		r.host, r.repo, r.tag = ref.Context().RegistryStr(), ref.Context().RepositoryStr(), ref.Identifier()
		r.project, _, _ = strings.Cut(r.repo, "/")
	}
	if g.refs == nil {
		g.refs = map[string]imageRef{}
	}
	g.refs[image] = r
	return r
}

// pull answers a pull of image with username/password as a registry would: 401 before 403
// before 404. It never injects faults; the caller does.
func (g *Registry) pull(image, user, password string) error {
	ref := g.parse(image)
	if ref.err != nil {
		return &verify.PullError{Image: image, Reason: verify.ReasonOther, Detail: "invalid image reference: " + ref.err.Error(), Err: ref.err}
	}
	host := ref.host
	if host != registryHost {
		return &verify.PullError{Image: image, Registry: host, Reason: verify.ReasonNetwork, Detail: "no such host"}
	}
	b := g.w.provider.byLogin(user, password)
	if b == nil || !b.live(g.w.clock.Now()) {
		return &verify.PullError{Image: image, Registry: host, Reason: verify.ReasonUnauthorized, Stage: verify.StageToken,
			Status: 401, Detail: "UNAUTHORIZED: authentication required"}
	}
	if !slices.Contains(b.Projects, ref.project) {
		return &verify.PullError{Image: image, Registry: host, Reason: verify.ReasonDenied, Stage: verify.StageManifest,
			Status: 403, Detail: "DENIED: requested access to the resource is denied"}
	}
	if !g.tags[ref.repo+":"+ref.tag] {
		return &verify.PullError{Image: image, Registry: host, Reason: verify.ReasonNotFound, Stage: verify.StageManifest,
			Status: 404, Detail: "MANIFEST_UNKNOWN: manifest unknown"}
	}
	return nil
}

// pullAsKubelet resolves image's credential from secrets by kubelet's rules (package
// pullsecret) and pulls with each candidate in turn, as kubelet does.
func (g *Registry) pullAsKubelet(image string, secrets []corev1.Secret) error {
	if len(secrets) == 1 && secrets[0].Type == corev1.SecretTypeDockerConfigJson && len(secrets[0].StringData) == 0 {
		key := image + "\x00" + string(secrets[0].Data[corev1.DockerConfigJsonKey])
		cands, ok := g.kubelet[key]
		if !ok {
			var kr pullsecret.Keyring
			cfg, err := pullsecret.ParseSecret(&secrets[0])
			if err != nil {
				return g.pullAsKubeletSlow(image, secrets)
			}
			kr.Add("", cfg)
			cands = kr.Lookup(image)
			if g.kubelet == nil {
				g.kubelet = map[string][]pullsecret.Candidate{}
			}
			g.kubelet[key] = cands
		}
		return g.pullCandidates(image, cands, secrets[0].Namespace+"/"+secrets[0].Name)
	}
	return g.pullAsKubeletSlow(image, secrets)
}

func (g *Registry) pullAsKubeletSlow(image string, secrets []corev1.Secret) error {
	var kr pullsecret.Keyring
	for i := range secrets {
		s := &secrets[i]
		cfg, err := pullsecret.ParseSecret(s)
		if err != nil && (errors.Is(err, pullsecret.ErrWrongType) || errors.Is(err, pullsecret.ErrMissingKey)) {
			continue // kubelet ignores it
		}
		if err != nil && pullsecret.BreaksKubelet(err) {
			return &verify.PullError{Image: image, Registry: registryHost, Reason: verify.ReasonInvalidSecret, Source: s.Namespace + "/" + s.Name, Detail: err.Error(), Err: err}
		}
		kr.Add(s.Namespace+"/"+s.Name, cfg)
	}
	return g.pullCandidates(image, kr.Lookup(image), "")
}

// pullCandidates pulls with each candidate in turn, kubelet's order; source names the secret
// of them all when they come from one.
func (g *Registry) pullCandidates(image string, cands []pullsecret.Candidate, source string) error {
	if len(cands) == 0 {
		return &verify.PullError{Image: image, Registry: registryHost, Reason: verify.ReasonNoMatchingKey, Detail: "no key matches"}
	}
	var first error
	for _, c := range cands {
		err := g.pull(image, c.Entry.Username, c.Entry.Password)
		if err == nil {
			return nil
		}
		var pe *verify.PullError
		if errors.As(err, &pe) {
			pe.Key, pe.Source = c.Key, c.Source
			if source != "" {
				pe.Source = source
			}
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// registryFault: while the schedule has made the registry flaky, a check may time out.
func (w *World) registryFault(image string) error {
	if w.faults.registryRuns == 0 || w.chaos.Float64() >= w.faults.registryRate {
		return nil
	}
	return &verify.PullError{Image: image, Registry: registryHost, Reason: verify.ReasonNetwork,
		Detail: "net/http: request canceled (Client.Timeout exceeded while awaiting headers)", Err: context.DeadlineExceeded}
}

// checkerView is the registry as one run sees it (rotation.RegistryChecker).
type checkerView struct{ r *run }

// PullCheckFresh implements rotation.RegistryChecker: the simulated registry has no replica
// lag, so it is one PullCheck.
func (v checkerView) PullCheckFresh(ctx context.Context, image string, auth authn.Authenticator) error {
	return v.PullCheck(ctx, image, auth)
}

// PullCheck implements rotation.RegistryChecker.
func (v checkerView) PullCheck(ctx context.Context, image string, auth authn.Authenticator) error {
	return v.r.gate(ctx, registryCall, "pull "+image, func() (bool, error) {
		if err := v.r.w.registryFault(image); err != nil {
			return false, err
		}
		var user, password string
		if auth != nil {
			cfg, err := authn.Authorization(ctx, auth)
			if err != nil {
				return false, err
			}
			user, password = cfg.Username, cfg.Password
		}
		return false, v.r.w.registry.pull(image, user, password)
	})
}

// PullCheckAsKubelet implements rotation.RegistryChecker.
func (v checkerView) PullCheckAsKubelet(ctx context.Context, image string, secrets []corev1.Secret) error {
	return v.r.gate(ctx, registryCall, "pull as kubelet "+image, func() (bool, error) {
		if err := v.r.w.registryFault(image); err != nil {
			return false, err
		}
		return false, v.r.w.registry.pullAsKubelet(image, secrets)
	})
}
