package rotation

import (
	"context"

	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// secretEvent records on a target Secret what this run did to it.
func (r *Runner) secretEvent(ctx context.Context, p *plan, c secretsync.Content, res SecretResult) {
	obj := events.Secret(res.Namespace, res.Name).WithUID(res.uid)
	switch {
	case res.Error != "":
		r.Events.Warning(ctx, obj, events.ReasonWriteFailed, "%s", res.Error)
	case res.Action == string(secretsync.Unchanged):
	case p.decision == RepairOnly:
		r.Events.Normal(ctx, obj, events.ReasonRepaired, "restored with the current credential %s of %s", c.Name, p.cred.Name)
	default:
		r.Events.Normal(ctx, obj, events.ReasonRotated, "now holds %s (id %s) of %s, expires %s", c.Name, c.ID, p.cred.Name, expiry(c.ExpiresAt))
	}
}

// stateObject is where events about the credential as a whole go: its state Secret.
func (r *Runner) stateObject(p *plan) events.Object {
	return events.Secret(r.Config.StateNamespace, state.SecretName(r.stateKey(p.cred.Name))).WithUID(p.state.UID())
}
