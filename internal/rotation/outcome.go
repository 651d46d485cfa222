package rotation

import "github.com/rotatorhq/rotator/internal/secretsync"

// Result is how a credential's run ended, as Report.Result, the metric label and state.LastRun
// record it.
type Result string

const (
	// Succeeded: the run changed something and every target is done.
	Succeeded Result = "succeeded"
	// Failed: some target is not done (each one is named in Report.Errors).
	Failed Result = "failed"
	// NothingDue: nothing needed doing; nothing was written.
	NothingDue Result = "nothing-due"
	// Planned: a dry run; nothing was written.
	Planned Result = "planned"
)

// Decision is what a run does with the credential itself.
type Decision string

const (
	// IssueNew: create a new credential and roll it out.
	IssueNew Decision = "issue"
	// ResumePending: a credential issued by an earlier run is not yet everywhere: finish that.
	ResumePending Decision = "resume"
	// RepairOnly: the current credential stays; fix only what drifted.
	RepairOnly Decision = "repair"
)

// Planned and executed actions on a target Secret. A dry run reports the planned verb, a run
// the executed one; SecretAction.Planned maps the second onto the first, so the two compare.
type SecretAction string

const (
	SecretCreate    SecretAction = "create"
	SecretUpdate    SecretAction = "update"
	SecretUnchanged SecretAction = "unchanged"
	SecretFailed    SecretAction = "failed"
)

// Planned is the dry-run verb of an executed action ("created" → create).
func (a SecretAction) Planned() SecretAction {
	switch secretsync.Action(a) {
	case secretsync.Created:
		return SecretCreate
	case secretsync.Updated, secretsync.Replaced:
		return SecretUpdate
	}
	return a
}

// Cause says whether a failure can heal by itself (the service retries it with back-off) or
// needs a person (a config or permission problem, a tenant's object in the way).
type Cause string

const (
	// Transient: an upstream did not answer or answered 5xx/429; the next run may succeed.
	Transient Cause = "transient"
	// Permanent: retrying without a change (config, RBAC, a tenant's object) fails the same way.
	Permanent Cause = "permanent"
)
