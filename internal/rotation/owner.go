package rotation

import (
	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// ownerOf is the rule for which same-named Secrets the rotator writes for cred
// (secretsync.Owner): those carrying a credential id st issued, or the rotator's labels with a
// name it gives; any with targets.adopt. Runs and the service's namespace reconciles share it.
func ownerOf(cred *config.Credential, st *state.State) secretsync.Owner {
	o := secretsync.Owner{Credential: cred.Name, NamePrefix: cred.ProviderSpec().NamePrefix, Adopt: cred.Targets.Adopt}
	if st != nil {
		o.Ours = st.Ours
	}
	return o
}

// deletableBy is ownerOf without adoption: pruning deletes only Secrets the rotator wrote, never
// one it would merely be allowed to take over.
func deletableBy(cred *config.Credential, st *state.State) secretsync.Owner {
	o := ownerOf(cred, st)
	o.Adopt = false
	return o
}
