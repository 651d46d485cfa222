// Package rotation is the pipeline every credential goes through:
//
//	plan → issue → verify → write → bind → verify as kubelet → restart → promote → revoke
//
// Plan reads the cluster and the state and decides what is due; Execute carries a plan out. The
// state Secret records each step that matters (an issued credential before anything depends on
// it, the promotion after every target holds it), so a run that dies anywhere is resumed by the
// next one, and no namespace is ever left without a working credential: the previous credential
// is revoked only after the new one is everywhere, restarts are done, and its grace period ended.
package rotation

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/providers"
)

// Runner carries out rotations. Every dependency is explicit so tests replace only what they must.
type Runner struct {
	Config *config.Config
	Kube   kubernetes.Interface
	// Providers by credential name, built by the caller from the config.
	Providers map[string]providers.Provider
	// Checkers perform real pull checks against each credential's registry (its own TLS
	// settings), by credential name.
	Checkers map[string]verify.Checker
	Clock    clock.WithTicker
	Logger   *slog.Logger
	// Events are recorded on the Secrets and workloads a run touches (nil: none).
	Events *events.Recorder
	// Metrics of runs (nil: none).
	Metrics *metrics.Metrics
	// Vault receives credentials written back (Credential.WriteBack); nil when the config has
	// no vault section.
	Vault KVWriter
	// Lock, when set, is taken before anything is changed (not for a run with nothing due, which
	// then writes nothing at all) and released at the end of the credential's run. It is the
	// lock shared by `rotator run` and `rotate now`. The returned held context is cancelled when
	// the lock is lost; everything the run does under the lock uses it.
	Lock func(ctx context.Context) (held context.Context, release func(), err error)
	// Progress receives a line per step as it happens (nil: silent).
	Progress func(Progress)
}

// Progress is one step of a run, for live output.
type Progress struct {
	Credential string        `json:"credential"`
	Step       string        `json:"step"`
	Message    string        `json:"message"`
	Done       int           `json:"done,omitempty"`
	Total      int           `json:"total,omitempty"`
	Elapsed    time.Duration `json:"elapsed"`
}

// Options of one run.
type Options struct {
	// IfDue acts only on what needs it (a missing or drifted secret, an unbound ServiceAccount, a
	// credential near expiry, a revocation whose grace ended). Without it a new credential is
	// always issued (or a pending one resumed).
	IfDue bool
	// DryRun plans and reports without any write, in the cluster or at the provider.
	DryRun bool
	// SkipRolloutWait patches the dependent workloads' templates but does not wait for their
	// rollouts. The benchmark (bench/) uses it to time the write phase apart from the waiting.
	SkipRolloutWait bool
	// DeferRestart ends a run that issued or resumed a credential once its Secrets are written,
	// bound and verified as kubelet: the credential stays pending, and the next run resumes it,
	// restarts the dependents and promotes it. RotateAll uses it so that every credential's
	// Secrets are in place before any workload restarts. A repair-only run is not deferred: its
	// restarts are chosen by what it repaired.
	DeferRestart bool
}

func (r *Runner) checker(credential string) verify.Checker { return r.Checkers[credential] }

func (r *Runner) store() *state.Store {
	return &state.Store{Client: r.Kube, Namespace: r.Config.StateNamespace}
}

func (r *Runner) progress(cred, step string, start time.Time, done, total int, format string, args ...any) {
	if r.Progress == nil {
		return
	}
	r.Progress(Progress{Credential: cred, Step: step, Message: sprintf(format, args...), Done: done, Total: total, Elapsed: r.Clock.Since(start)})
}
