package rotation

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/verify"
)

// writeSecrets writes content into every target namespace, Concurrency at a time, and returns
// how many Secrets it changed. A namespace that fails keeps the Secret it had.
func (r *Runner) writeSecrets(ctx context.Context, p *plan, content secretsync.Content, fp string, rep *Report) int {
	start := r.Clock.Now()
	w := &secretsync.Writer{Client: r.Kube}
	results := make([]SecretResult, len(p.namespaces))
	for i, ns := range p.namespaces {
		// What a namespace reports if the run is stopped before reaching it.
		results[i] = SecretResult{Namespace: ns, Name: p.cred.Targets.SecretName, Action: "failed", Error: "secret " + ns + "/" + p.cred.Targets.SecretName + ": not written: the run was stopped"}
	}
	var mu sync.Mutex
	done, changed := 0, 0
	forEach(ctx, r.Config.Kubernetes.Concurrency, len(p.namespaces), func(i int) {
		ns := p.namespaces[i]
		res := SecretResult{Namespace: ns, Name: p.cred.Targets.SecretName}
		action, err := w.Write(ctx, ns, res.Name, content, p.secrets[ns], p.cred.Targets.Adopt)
		res.Action = string(action)
		if err != nil {
			res.Action, res.Error = "failed", err.Error()
		}
		r.secretEvent(ctx, p, content, res)
		faultpoint.Hit(faultpoint.AfterWrite)
		results[i] = res
		mu.Lock()
		done++
		if action != secretsync.Unchanged && err == nil {
			changed++
		}
		if changed > 0 || err != nil {
			r.progress(p.cred.Name, "write", start, done, len(p.namespaces), "secret %s/%s %s", ns, res.Name, res.Action)
		}
		mu.Unlock()
	})
	for _, res := range results {
		rep.Secrets = append(rep.Secrets, res)
		if res.Error != "" {
			rep.fail("%s", res.Error)
		}
	}
	return changed
}

// bindServiceAccounts adds the secret to each configured ServiceAccount that lacks it.
func (r *Runner) bindServiceAccounts(ctx context.Context, p *plan, rep *Report) int {
	type job struct{ ns, name string }
	var jobs []job
	for _, ns := range p.namespaces {
		for _, sa := range p.cred.Targets.ServiceAccounts {
			if s := p.serviceAccounts[ns][sa]; s != nil && secretsync.HasPullSecret(s, p.cred.Targets.SecretName) {
				continue
			}
			jobs = append(jobs, job{ns, sa})
		}
	}
	start := r.Clock.Now()
	results := make([]SAResult, len(jobs))
	for i, j := range jobs {
		results[i] = SAResult{Namespace: j.ns, Name: j.name, Action: "failed", Error: "serviceaccount " + j.ns + "/" + j.name + ": not bound: the run was stopped"}
	}
	var mu sync.Mutex
	done, bound := 0, 0
	forEach(ctx, r.Config.Kubernetes.Concurrency, len(jobs), func(i int) {
		j := jobs[i]
		changed, err := secretsync.Bind(ctx, r.Kube, j.ns, j.name, p.cred.Targets.SecretName, p.serviceAccounts[j.ns][j.name])
		res := SAResult{Namespace: j.ns, Name: j.name, Action: "bound"}
		if err != nil {
			res.Action, res.Error = "failed", err.Error()
		}
		results[i] = res
		mu.Lock()
		done++
		if changed {
			bound++
		}
		r.progress(p.cred.Name, "bind", start, done, len(jobs), "serviceaccount %s/%s %s", j.ns, j.name, res.Action)
		mu.Unlock()
	})
	for _, res := range results {
		rep.ServiceAccounts = append(rep.ServiceAccounts, res)
		if res.Error != "" {
			rep.fail("%s", res.Error)
		}
	}
	return bound
}

// verifyAsKubelet reads one written Secret back and resolves, by kubelet's rules, the
// credential for each distinct image of the dependent workloads, then pulls with it. A workload
// whose image host matches no key is the most common cause of 401 after a "correct" secret.
// It returns how many images the registry refused with the secret (auth or permission).
func (r *Runner) verifyAsKubelet(ctx context.Context, p *plan, rep *Report) (refused int) {
	var secret *corev1.Secret
	for _, res := range rep.Secrets {
		if res.Error == "" {
			s, err := r.Kube.CoreV1().Secrets(res.Namespace).Get(ctx, res.Name, metav1.GetOptions{})
			if err != nil {
				rep.fail("read back secret %s/%s: %v", res.Namespace, res.Name, err)
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
			rep.fail("%s: image %s does not pull with the written secret as kubelet resolves it: %v", w, img, err)
			if pe := (*verify.PullError)(nil); errors.As(err, &pe) && (pe.Reason == verify.ReasonUnauthorized || pe.Reason == verify.ReasonDenied) {
				refused++
			}
		}
	}
	return refused
}

// restartWorkloads rolls the dependent workloads whose pods may lack the credential, and waits.
func (r *Runner) restartWorkloads(ctx context.Context, p *plan, fp string, rep *Report) int {
	ws := p.restartTargets(rep)
	if p.cred.Restart.Disabled || len(ws) == 0 {
		action := "unchanged"
		if p.cred.Restart.Disabled {
			action = "skipped (restart.disabled)"
		}
		for _, w := range p.workloads {
			rep.Workloads = append(rep.Workloads, WorkloadResult{Kind: string(w.Kind), Namespace: w.Namespace, Name: w.Name, Via: w.Via, Action: action})
		}
		return 0
	}
	start := r.Clock.Now()
	done := 0
	// restart.concurrency bounds the rollouts in progress at once; without the wait nothing is in
	// progress for long, and the patches are writes like the others.
	concurrency := p.cred.Restart.Concurrency
	if p.skipRolloutWait {
		concurrency = max(concurrency, r.Config.Kubernetes.Concurrency)
	}
	rs := &restart.Restarter{
		Client: r.Kube, Concurrency: concurrency, Timeout: p.cred.Restart.Timeout.Duration, Clock: r.Clock,
		// p.workloads were discovered by this run's plan: no GET before each patch.
		TrustSnapshot: true,
		Progress: func(res restart.Result) {
			done++
			msg := "rolled out"
			if res.Err != nil {
				msg = "failed: " + res.Err.Error()
			} else if !res.Patched {
				msg = "already rolled out for this credential"
			}
			r.progress(p.cred.Name, "restart", start, done, len(ws), "%s %s", res.Workload, msg)
			faultpoint.Hit(faultpoint.AfterRestart)
		},
	}
	n := 0
	for _, res := range rs.Restart(ctx, ws, restartAnnotation(p.cred.Name), fp, !p.skipRolloutWait) {
		wr := WorkloadResult{Kind: string(res.Workload.Kind), Namespace: res.Workload.Namespace, Name: res.Workload.Name, Via: res.Workload.Via, Action: "unchanged"}
		obj := events.Workload(string(res.Workload.Kind), res.Workload.Namespace, res.Workload.Name)
		if res.Patched {
			wr.Action = "restarted"
			n++
			r.Events.Normal(ctx, obj, events.ReasonRestarted, "restarted by rotator so new pods pull with credential %s of %s", fp, p.cred.Name)
		}
		if res.Err != nil {
			wr.Action, wr.Error = "failed", res.Err.Error()
			rep.fail("%v", res.Err)
			r.Events.Warning(ctx, obj, events.ReasonRolloutTimedOut, "rollout after the credential change of %s did not complete: %v", p.cred.Name, res.Err)
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	return n
}

// restartTargets: with a new credential, every dependent workload; on a repair run, only those
// in namespaces whose Secret or ServiceAccount this run changed (the others already pull fine).
func (p *plan) restartTargets(rep *Report) []restart.Workload {
	if p.decision != repairOnly {
		return p.workloads
	}
	touched := map[string]bool{}
	for _, s := range rep.Secrets {
		if s.Error == "" && s.Action != string(secretsync.Unchanged) {
			touched[s.Namespace] = true
		}
	}
	for _, sa := range rep.ServiceAccounts {
		if sa.Error == "" {
			touched[sa.Namespace] = true
		}
	}
	var out []restart.Workload
	for _, w := range p.workloads {
		if touched[w.Namespace] {
			out = append(out, w)
		}
	}
	return out
}

// revoke deletes the provider credentials whose time has come and forgets them.
func (r *Runner) revoke(ctx context.Context, p *plan, rep *Report) int {
	n, failed := 0, 0
	start := r.Clock.Now()
	for i, c := range p.revoke {
		faultpoint.Hit(faultpoint.BeforeRevoke)
		if err := r.Providers[p.cred.Name].Revoke(ctx, p.spec, c.ID); err != nil {
			rep.fail("revoke %s (id %s): %v; the next run tries again", c.Name, c.ID, err)
			failed++
			continue
		}
		faultpoint.Hit(faultpoint.AfterRevoke)
		p.state.DropRetired(c.ID)
		rep.Revoked = append(rep.Revoked, c)
		r.Events.Normal(ctx, r.stateObject(p), events.ReasonRevoked, "revoked %s (id %s): %s", c.Name, c.ID, c.Reason)
		n++
		r.progress(p.cred.Name, "revoke", start, i+1, len(p.revoke), "revoked %s (id %s): %s", c.Name, c.ID, c.Reason)
	}
	if p.clearIssuing && failed == 0 && !p.issuingOpen {
		p.state.Issuing = nil
	}
	return n
}

// verifyImages: the configured ones, else one image per repository namespace (Harbor project)
// among the dependent workloads' images on this registry.
func (p *plan) verifyImages() []string {
	if len(p.cred.VerifyImages) > 0 {
		return p.cred.VerifyImages
	}
	byProject := map[string]string{}
	for _, w := range p.workloads {
		for _, img := range w.Images {
			ref, err := name.ParseReference(img)
			if err != nil || ref.Context().RegistryStr() != p.registry {
				continue
			}
			project, _, _ := strings.Cut(ref.Context().RepositoryStr(), "/")
			if _, ok := byProject[project]; !ok {
				byProject[project] = img
			}
		}
	}
	var out []string
	for _, img := range byProject {
		out = append(out, img)
	}
	sort.Strings(out)
	return out
}

// describePlan fills a dry run's report with what a real run would do.
func (r *Runner) describePlan(p *plan, rep *Report) {
	if p.decision == issueNew {
		rep.Issued = &CredentialRef{Name: p.spec.NamePrefix + "<time>", Reason: "would be issued: pull on " + strings.Join(p.spec.Projects, ", ")}
	}
	fp := ""
	if p.decision == repairOnly {
		fp = p.state.Current.Fingerprint
	}
	for _, ns := range p.namespaces {
		res := SecretResult{Namespace: ns, Name: p.cred.Targets.SecretName}
		existing := p.secrets[ns]
		switch {
		case existing == nil:
			res.Action, res.Reason = "create", "missing"
		case fp != "" && secretsync.UpToDate(existing, fp):
			res.Action = "unchanged"
		case fp != "":
			res.Action, res.Reason = "update", "drifted from the current credential"
		default:
			res.Action, res.Reason = "update", "new credential"
		}
		rep.Secrets = append(rep.Secrets, res)
	}
	for _, ns := range p.namespaces {
		for _, sa := range p.cred.Targets.ServiceAccounts {
			if s := p.serviceAccounts[ns][sa]; s == nil || !secretsync.HasPullSecret(s, p.cred.Targets.SecretName) {
				rep.ServiceAccounts = append(rep.ServiceAccounts, SAResult{Namespace: ns, Name: sa, Action: "bind"})
			}
		}
	}
	touched := map[string]bool{}
	for _, s := range rep.Secrets {
		if s.Action != "unchanged" {
			touched[s.Namespace] = true
		}
	}
	for _, s := range rep.ServiceAccounts {
		touched[s.Namespace] = true
	}
	for _, w := range p.workloads {
		action := "restart"
		if p.decision == repairOnly && !touched[w.Namespace] {
			action = "unchanged"
		}
		rep.Workloads = append(rep.Workloads, WorkloadResult{Kind: string(w.Kind), Namespace: w.Namespace, Name: w.Name, Via: w.Via, Action: action})
	}
	rep.Revoked = append(rep.Revoked, p.revoke...)
	rep.Verified = p.verifyImages()
}

// forEach runs fn(0..n-1) with at most limit running at once, stopping early when ctx ends.
func forEach(ctx context.Context, limit, n int, fn func(i int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}(i)
	}
	wg.Wait()
}
