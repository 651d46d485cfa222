package rotation

import (
	"context"
	"slices"

	"github.com/rotatorhq/rotator/internal/config"
)

// RotateAll rotates creds, one report each, in their order. With more than one credential it
// takes two passes: first each credential up to its Secrets written and bound (Options.
// DeferRestart: a new credential stays pending), then each again, which resumes it: restarts,
// promotion, revocation. A pod that pulls with the Secrets of two credentials (a Harbor image
// and a GitLab one) is then restarted only once both are in place; one pass would restart it for
// the first credential while the second's Secret is still missing, and that rollout could not
// finish. The run lock, once a credential takes it, is held to the end of both passes: another
// process must not run between them.
func (r *Runner) RotateAll(ctx context.Context, creds []*config.Credential, opts Options) []*Report {
	lk := &runLock{take: r.Lock}
	defer lk.release()
	ctx = withLock(ctx, lk)
	out := make([]*Report, len(creds))
	if len(creds) < 2 || opts.DryRun {
		for i, c := range creds {
			out[i] = r.Rotate(ctx, c, opts)
		}
		return out
	}
	first := opts
	first.DeferRestart = true
	for i, c := range creds {
		out[i] = r.Rotate(ctx, c, first)
	}
	for i, c := range creds {
		if !out[i].deferred || ctx.Err() != nil || (lk.held() && lost(lk.ctx)) { //nolint:contextcheck // lk.ctx is derived from ctx
			continue // done (or failed) in the first pass; a cancelled run is resumed next time
		}
		out[i] = merge(out[i], r.Rotate(ctx, c, opts))
	}
	return out
}

// merge is the report of a credential's two passes: what the second did, with the first's
// writes (the second finds those Secrets and bindings already in place).
func merge(first, second *Report) *Report {
	m := *second
	m.Decision = first.Decision
	if m.Issued == nil {
		m.Issued = first.Issued
	}
	m.Secrets = preferChanged(first.Secrets, second.Secrets, func(s SecretResult) (string, bool) {
		return s.Namespace + "/" + s.Name, s.Action != "unchanged" || s.Error != ""
	})
	m.ServiceAccounts = preferChanged(first.ServiceAccounts, second.ServiceAccounts, func(s SAResult) (string, bool) {
		return s.Namespace + "/" + s.Name, true // only bindings made or failed are listed
	})
	m.Verified = union(first.Verified, second.Verified)
	m.Warnings = union(first.Warnings, second.Warnings)
	m.Errors = union(first.Errors, second.Errors)
	m.Revoked = append(append([]CredentialRef(nil), first.Revoked...), second.Revoked...)
	m.Abandoned = append(append([]CredentialRef(nil), first.Abandoned...), second.Abandoned...)
	m.Duration = first.Duration + second.Duration
	return &m
}

// preferChanged lists every target of first and second once: first's entry where it changed
// something (or failed), otherwise second's.
func preferChanged[T any](first, second []T, key func(T) (string, bool)) []T {
	out := append([]T(nil), second...)
	index := map[string]int{}
	for i, s := range out {
		k, _ := key(s)
		index[k] = i
	}
	for _, f := range first {
		k, changed := key(f)
		i, seen := index[k]
		switch {
		case !seen:
			index[k] = len(out)
			out = append(out, f)
		case changed:
			out[i] = f
		}
	}
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
