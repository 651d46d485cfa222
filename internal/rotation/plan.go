package rotation

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/providers"
)

// plan is everything a run will do, decided from the snapshot before any write. The dry run
// renders exactly this (describe.go); the run carries it out phase by phase.
type plan struct {
	snapshot
	cred     *config.Credential
	spec     providers.Spec
	registry string
	decision Decision
	reason   string

	// abandoned are credentials found dead (deleted, disabled, expired, renamed at the
	// provider): retired by this run and replaced in it.
	abandoned []CredentialRef
	// revoke are provider credentials this run deletes, if still allowed when it gets there
	// (revocable is asked again with what the run wrote).
	revoke []CredentialRef
	// held are retired credentials not revoked yet, and why.
	held []CredentialRef
	// clearIntent: the state's Intent (or old Issuing mark) is settled by this run.
	clearIntent bool
	// orphans recorded as retired by decide, swept: the lost-state sweep is done (the state
	// changed: the run must save it).
	orphans int
	swept   bool
	// now is the time decide ran at.
	now time.Time
	// verifyImages prove a new credential before anything depends on it.
	verifyImages []string
	// problems found while planning fail the run but do not stop other targets; blocking
	// problems stop the credential's run before any write.
	problems, blocking []string
	warnings           []string
	// restarts is the verdict on each dependent workload (decideRestarts), in p.workloads' order.
	restarts []restartDecision
	// skipRolloutWait, deferRestart: see Options.
	skipRolloutWait, deferRestart bool
}

// restartAnnotation is the pod-template annotation holding the fingerprint of the credential
// a workload was last restarted for; one key per credential, since a pod may use several.
func restartAnnotation(credential string) string { return "rotator.dev/fp-" + credential }

// plan reads the snapshot and decides.
func (r *Runner) plan(ctx context.Context, cred *config.Credential, opts Options) (*plan, error) {
	registry, normalised, err := cred.Registry()
	if err != nil {
		return nil, fmt.Errorf("credential %s: registry host: %w", cred.Name, err)
	}
	p := &plan{cred: cred, registry: registry, spec: cred.ProviderSpec(),
		skipRolloutWait: opts.SkipRolloutWait, deferRestart: opts.DeferRestart}
	if normalised {
		p.warnings = append(p.warnings, fmt.Sprintf("registry host %q normalised to %q: kubelet matches it either way, but Docker, containerd and other tools match the auths key literally", cred.RegistryHost, registry))
	}
	if err := r.read(ctx, p); err != nil {
		return nil, err
	}
	p.warnings = append(p.warnings, p.hostMismatches()...)
	decide(p, opts, r.Clock.Now())
	if err := r.readPods(ctx, p); err != nil {
		return nil, err
	}
	p.decideRestarts(opts.RestartsOutsideWindow)
	p.warnings = append(p.warnings, p.cred.Warnings()...)
	return p, nil
}

// hostMismatches names the dependent workloads whose images kubelet will not match with the
// secret's auths key (another host, another port): the most common cause of a 401 after a
// "correct" secret. Reported before anything is written, and in a dry run.
func (p *plan) hostMismatches() []string {
	var out []string
	for _, w := range p.workloads {
		// A workload pulling from several registries (several secrets) needs only one image here.
		var other []string
		for _, img := range w.Images {
			if !pullsecret.KeyMatchesImage(p.registry, img) {
				other = append(other, img)
			}
		}
		if len(other) > 0 && len(other) == len(w.Images) {
			out = append(out, fmt.Sprintf("%s uses %s, which kubelet will not match with the auths key %q of secret %s (another registry host or port): its pods will not use this credential; check the image or credentials[%s].registryHost",
				w, strings.Join(other, ", "), p.registry, p.cred.Targets.SecretName, p.cred.Name))
		}
	}
	return out
}

// idle reports whether a run of this plan would change nothing: the current credential stays,
// every target already holds it, every ServiceAccount is bound and nothing awaits revocation.
func (p *plan) idle() bool {
	if p.decision != RepairOnly || len(p.revoke) > 0 || len(p.abandoned) > 0 || p.orphans > 0 || p.swept || len(p.problems) > 0 ||
		len(p.blocking) > 0 || p.clearIntent || p.writeBackDue() {
		return false
	}
	for _, ns := range p.namespaces {
		if s := p.secrets[ns]; s == nil || !secretsync.UpToDate(s, p.state.Current.Fingerprint) {
			return false
		}
		for _, name := range p.cred.Targets.ServiceAccounts {
			if sa := p.serviceAccounts.get(ns, name); sa == nil || !secretsync.HasPullSecret(sa, p.cred.Targets.SecretName) {
				return false
			}
		}
	}
	return true
}

func (p *plan) revoking(id string) bool {
	for _, c := range p.revoke {
		if c.ID == id {
			return true
		}
	}
	return false
}

// imagesToVerify: the configured ones, else, per project or group the credential holds
// (spec.Projects: Harbor projects, a GitLab project or group path), the first dependent
// workload image on this registry whose repository lies at or under that path. A GitLab token
// of group/project can pull nothing else, so an image of a sibling project would fail the
// verification of a good credential. Registry paths are lower case; GitLab paths need not be.
// A holder given as a numeric GitLab id names no path: then, as before, one image per first
// path segment (set verifyImages to be exact).
func (p *plan) imagesToVerify() []string {
	if len(p.cred.VerifyImages) > 0 {
		return p.cred.VerifyImages
	}
	var repos []imageRepo
	for _, w := range p.workloads {
		for _, img := range w.Images {
			ref, err := name.ParseReference(img)
			if err != nil || ref.Context().RegistryStr() != p.registry {
				continue
			}
			repos = append(repos, imageRepo{image: img, repo: ref.Context().RepositoryStr()})
		}
	}
	holders := holderPaths(p.spec.Projects, p.cred.GitLab != nil)
	if holders == nil {
		return onePerFirstSegment(repos)
	}
	seen := map[string]bool{}
	var out []string
	for _, h := range holders {
		for _, r := range repos {
			if r.repo == h || strings.HasPrefix(r.repo, h+"/") {
				if !seen[r.image] {
					seen[r.image] = true
					out = append(out, r.image)
				}
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// imageRepo is a dependent image and its repository path on the credential's registry.
type imageRepo struct{ image, repo string }

// holderPaths lower-cases the credential's project or group paths; nil when there are none or,
// for GitLab (numericIsID), one is a numeric id, which says nothing of its path.
func holderPaths(projects []string, numericIsID bool) []string {
	if len(projects) == 0 {
		return nil
	}
	out := make([]string, 0, len(projects))
	for _, pr := range projects {
		h := strings.ToLower(strings.Trim(pr, "/"))
		if h == "" || (numericIsID && strings.Trim(h, "0123456789") == "") {
			return nil
		}
		out = append(out, h)
	}
	return out
}

// onePerFirstSegment picks the first image of each repository namespace (first path segment).
func onePerFirstSegment(repos []imageRepo) []string {
	byProject := map[string]string{}
	for _, r := range repos {
		project, _, _ := strings.Cut(r.repo, "/")
		if _, ok := byProject[project]; !ok {
			byProject[project] = r.image
		}
	}
	var out []string
	for _, img := range byProject {
		out = append(out, img)
	}
	sort.Strings(out)
	return out
}

func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
