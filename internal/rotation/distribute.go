package rotation

import (
	"context"
	"slices"
	"sync"

	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// writeSecrets writes content into every target namespace, Concurrency at a time, and returns
// how many Secrets it changed. A namespace that fails keeps the Secret it had. The plan's copy
// of a namespace's Secret is let go once it is written: it predates the write (a rollback reads
// the Secrets again), and at 10,000 namespaces the copies would stay beside the new Secrets the
// caches hold for the rest of the run.
func (r *Runner) writeSecrets(ctx context.Context, p *plan, content secretsync.Content, rep *Report) int {
	start := r.Clock.Now()
	w := &secretsync.Writer{Client: r.Kube}
	owner := ownerOf(p.cred, p.state)
	results := make([]SecretResult, len(p.namespaces))
	var mu sync.Mutex
	done, changed := 0, 0
	forEach(ctx, r.Config.Kubernetes.Concurrency, len(p.namespaces), func(i int) {
		ns := p.namespaces[i]
		res := SecretResult{Namespace: ns, Name: p.cred.Targets.SecretName}
		mu.Lock()
		existing := p.secrets[ns]
		mu.Unlock()
		action, uid, err := w.Write(ctx, ns, res.Name, content, existing, owner)
		res.Action, res.uid = string(action), uid
		if err != nil {
			res.Action, res.Error = "failed", err.Error()
		}
		r.secretEvent(ctx, p, content, res)
		faultpoint.Hit(faultpoint.AfterWrite)
		results[i] = res
		mu.Lock()
		if err == nil {
			p.holds[ns] = content.ID
			delete(p.secrets, ns)
		}
		done++
		if action != secretsync.Unchanged && err == nil {
			changed++
		}
		if changed > 0 || err != nil {
			r.progress(p.cred.Name, "write", start, done, len(p.namespaces), "secret %s/%s %s", ns, res.Name, res.Action)
		}
		mu.Unlock()
	})
	rep.Secrets = slices.Grow(rep.Secrets, len(results))
	for i, res := range results {
		if res.Namespace == "" {
			// Not reached: the run was stopped before it.
			ns := p.namespaces[i]
			res = SecretResult{Namespace: ns, Name: p.cred.Targets.SecretName, Action: "failed", Error: "secret " + ns + "/" + p.cred.Targets.SecretName + ": not written: the run was stopped"}
		}
		rep.Secrets = append(rep.Secrets, res)
		if res.Error != "" {
			rep.fail(Permanent, "%s", res.Error)
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
			s := p.serviceAccounts.get(ns, sa)
			if s == nil {
				// Not created yet (a selector's namespace need not have every configured name):
				// `rotator run` binds it as soon as it appears, and no pod uses it meanwhile.
				rep.warn("serviceaccount %s/%s does not exist yet: it is bound when it is created (rotator run watches for it)", ns, sa)
				continue
			}
			if secretsync.HasPullSecret(s, p.cred.Targets.SecretName) {
				r.bindingPresent(ctx, p.cred, ns, sa, s)
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
		b, err := r.bindGuarded(ctx, p.cred, j.ns, j.name, p.serviceAccounts.get(j.ns, j.name))
		changed := b.changed
		res := SAResult{Namespace: j.ns, Name: j.name, Action: "bound"}
		switch {
		case err != nil:
			res.Action, res.Error = "failed", err.Error()
		case b.held != "":
			// Not a failure: nothing the run does changes it, and it holds back no revocation.
			res.Action, res.Conflict = "held", b.held
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
			rep.fail(Permanent, "%s", res.Error)
		}
		if res.Conflict != "" {
			rep.warn("%s", res.Conflict)
		}
	}
	return bound
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
