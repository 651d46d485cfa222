package rotation

import (
	"context"
	"fmt"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/state"
)

// NeedsRun says, from the state and one list at the provider, whether the credential needs a run
// now: it lets `rotator run` check between scheduled rotations that its credential still works,
// without the run's lists of namespaces, Secrets, ServiceAccounts and workloads (drift in the
// cluster is the namespace controller's, by watch). A run is needed when no credential is
// current yet, when an interrupted run left something to settle (a pending credential, a
// recorded intent), and when the current or pending credential is dead at the provider
// (deleted, disabled, expired, renamed: the rules of decide). A failed list is returned as
// the error and judges nothing dead, as in a run.
func (r *Runner) NeedsRun(ctx context.Context, cred *config.Credential, st *state.State) (bool, string, error) {
	switch {
	case st == nil || !st.Exists() || st.Current == nil:
		return true, "no current credential", nil
	case st.Intent != nil || st.Issuing != nil:
		return true, "an interrupted run requested a credential", nil
	case st.Pending != nil:
		return true, "a pending credential waits to be promoted", nil
	}
	prov, ok := r.Providers[cred.Name]
	if !ok {
		return false, "", fmt.Errorf("credential %s: no provider configured", cred.Name)
	}
	p := &plan{cred: cred, spec: cred.ProviderSpec()}
	p.state = st
	cctx, cancel := providerCall(ctx)
	defer cancel()
	if p.owned, p.listErr = prov.List(cctx, p.spec); p.listErr != nil {
		return false, "", fmt.Errorf("list the credential's own credentials at the provider: %w", p.listErr)
	}
	if dead, why := p.dead(st.Current, r.Clock.Now()); dead {
		return true, fmt.Sprintf("the current credential %s is dead: %s", st.Current.Name, why), nil
	}
	return false, "", nil
}
