// Package rotation is the state machine every credential goes through. A run is:
//
//	snapshot → decide (a plan fixed before anything runs; the dry run prints it)
//	  → issue + verify → distribute (write, bind) → check as kubelet → restart → promote → revoke
//
// Each phase returns a typed outcome into the Report; the report is rendered at the end. The
// state Secret records each step that matters (the exact name of a credential before it is
// requested, the credential once issued, the promotion), so a run that dies anywhere is resumed
// from the persisted state alone. docs/architecture.md describes the states, the transitions,
// who may revoke what, and the invariants the simulation (sim/) checks.
package rotation

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/bindguard"
	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/state"
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
	Checkers map[string]RegistryChecker
	Clock    clock.WithTicker
	Logger   *slog.Logger
	// Events are recorded on the Secrets and workloads a run touches (nil: none).
	Events *events.Recorder
	// Pacer caps the restarts per minute of the whole process (kubernetes.restartsPerMinute),
	// shared by every credential; nil: no pacing.
	Pacer *restart.Pacer
	// Metrics of runs (nil: none).
	Metrics *metrics.Metrics
	// Vault receives credentials written back (Credential.WriteBack); nil when the config has
	// no vault section.
	Vault KVWriter
	// Lock, when set, is taken before anything is changed (not for a run with nothing due, which
	// then writes nothing at all) and held to the end of the run: of one credential for Rotate,
	// of every credential and pass for RotateAll. The ctx it returns ends when the lock is lost;
	// the run does everything under it, so it stops before its next write. It is the lock
	// shared by `rotator run` and `rotate now`.
	Lock func(ctx context.Context) (held context.Context, release func(), err error)
	// States reads and saves the credentials' state; nil: state.Store on Kube in
	// Config.StateNamespace.
	States StateStore
	// Entropy feeds the random part of new credential names; nil: crypto/rand. The simulation
	// sets a seeded source so that one seed is one reproducible run.
	Entropy io.Reader
	// Progress receives a line per step as it happens (nil: silent).
	Progress func(Progress)

	// Cluster is the fleet member (config.Cluster) whose namespaces Kube reaches; "" for the
	// rotator's own cluster. A member's runner keeps the state of each credential under
	// "<credential>.<cluster>" in the rotator's own namespace (States must be a store there),
	// and names it in its reports.
	Cluster string
	// Installation, when set, identifies the installation in the names of the credentials it
	// creates instead of the UID of the state namespace in Kube: a member has no such
	// namespace, and each (credential, cluster) must tell its credentials from the others'.
	Installation string
	// StateEvents records the Events about a credential as a whole, on its state Secret, which
	// lives in the rotator's own cluster; nil: Events (the runner of that cluster).
	StateEvents *events.Recorder
	// Observed, when set, is where a plan reads namespaces, managed Secrets and ServiceAccounts
	// instead of listing them: the namespace controller's synced caches under `rotator run`
	// (observed.go). Nil: list (rotate now, or a service whose caches did not fill).
	Observed Observed
	// Bindings notices an owner (a GitOps tool) that keeps removing the rotator's entry from a
	// ServiceAccount, and stops the rotator re-adding it (nil: always re-add). Shared by runs
	// and reconciles, for the life of the process.
	Bindings *bindguard.Guard
}

// stateKey is the name the state of credential is kept under: per credential, and per
// (credential, member) in a fleet.
func (r *Runner) stateKey(credential string) string {
	if r.Cluster == "" {
		return credential
	}
	return credential + "." + r.Cluster
}

// memberStates keeps a member's states beside the rotator's own, under stateKey.
type memberStates struct {
	inner StateStore
	r     *Runner
}

func (m memberStates) Load(ctx context.Context, credential string) (*state.State, error) {
	return m.inner.Load(ctx, m.r.stateKey(credential))
}

func (m memberStates) Save(ctx context.Context, credential string, st *state.State) error {
	return m.inner.Save(ctx, m.r.stateKey(credential), st)
}

func (r *Runner) stateEvents() *events.Recorder {
	if r.StateEvents != nil {
		return r.StateEvents
	}
	return r.Events
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
	// RestartsOutsideWindow: restarts are not allowed now (outside every restart window): the
	// run restarts nothing and reports each needed restart as deferred.
	RestartsOutsideWindow bool
}

// RegistryChecker performs pull checks against one registry; verify.Checker is the real one.
type RegistryChecker interface {
	// PullCheck requests image's manifest with auth (nil: anonymous).
	PullCheck(ctx context.Context, image string, auth authn.Authenticator) error
	// PullCheckFresh is PullCheck for a credential issued moments ago: a first refusal is
	// checked once more after a short delay, since a registry's token service may not see a
	// new credential yet (replica lag). Never more: GitLab counts failed logins toward an IP ban.
	PullCheckFresh(ctx context.Context, image string, auth authn.Authenticator) error
	// PullCheckAsKubelet resolves image's credential from secrets by kubelet's rules, then pulls.
	PullCheckAsKubelet(ctx context.Context, image string, secrets []corev1.Secret) error
}

func (r *Runner) checker(credential string) RegistryChecker { return r.Checkers[credential] }

// StateStore loads and saves one credential's state; Save fails on a concurrent change.
type StateStore interface {
	Load(ctx context.Context, credential string) (*state.State, error)
	Save(ctx context.Context, credential string, st *state.State) error
}

func (r *Runner) store() StateStore {
	var s StateStore = &state.Store{Client: r.Kube, Namespace: r.Config.StateNamespace}
	if r.States != nil {
		s = r.States
	}
	if r.Cluster != "" {
		return memberStates{inner: s, r: r}
	}
	return s
}

func (r *Runner) progress(cred, step string, start time.Time, done, total int, format string, args ...any) {
	if r.Progress == nil {
		return
	}
	r.Progress(Progress{Credential: cred, Step: step, Message: sprintf(format, args...), Done: done, Total: total, Elapsed: r.Clock.Since(start)})
}
