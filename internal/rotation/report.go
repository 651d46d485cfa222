package rotation

import (
	"k8s.io/apimachinery/pkg/types"

	"fmt"
	"time"
)

// Report is the outcome of one credential's run, as `-o json` prints it. It never holds a
// secret: credentials are named by provider id and name only.
type Report struct {
	Credential string `json:"credential"`
	// Cluster is the fleet member the run wrote to; "" for the rotator's own cluster.
	Cluster  string `json:"cluster,omitempty"`
	Provider string `json:"provider"`
	Registry string `json:"registry"`
	DryRun   bool   `json:"dryRun,omitempty"`
	// Result: "succeeded", "failed", "nothing-due", or "planned" for a dry run.
	Result Result `json:"result"`
	// Action is what the run does with the credential (issue, resume, repair); Decision says why.
	Action   Decision `json:"action,omitempty"`
	Decision string   `json:"decision"`
	// Cause of a failure: "permanent" when any error needs a person (config, RBAC, a tenant's
	// object in the way), else "transient" (the service retries with back-off).
	Cause  Cause          `json:"cause,omitempty"`
	Issued *CredentialRef `json:"issued,omitempty"`
	// RolledBack is a new credential taken back out of the targets (it could not pull).
	RolledBack *CredentialRef  `json:"rolledBack,omitempty"`
	Revoked    []CredentialRef `json:"revoked,omitempty"`
	// Abandoned are credentials found dead (deleted, disabled, expired, renamed at the
	// provider) and replaced in this run.
	Abandoned []CredentialRef `json:"abandoned,omitempty"`
	// Held are retired credentials not revoked (yet), each with the reason.
	Held            []CredentialRef  `json:"held,omitempty"`
	Secrets         []SecretResult   `json:"secrets,omitempty"`
	ServiceAccounts []SAResult       `json:"serviceAccounts,omitempty"`
	Workloads       []WorkloadResult `json:"workloads,omitempty"`
	// Unstuck are the pods stuck pulling from the registry that the run deleted (or left).
	Unstuck  []UnstuckPod `json:"unstuck,omitempty"`
	Verified []string     `json:"verified,omitempty"`
	// WrittenBack is the Vault secret version that received the credential (writeBack).
	WrittenBack *WriteBackResult `json:"writtenBack,omitempty"`
	Warnings    []string         `json:"warnings,omitempty"`
	Errors      []string         `json:"errors,omitempty"`
	Duration    time.Duration    `json:"durationNanos"`

	// deferred: the run stopped before restarting (Options.DeferRestart); RotateAll completes it.
	deferred bool
}

// CredentialRef names a provider credential without its secret.
type CredentialRef struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// HeldBy are the target namespaces whose managed Secret still holds it, when its revocation
	// is held back for them (a notification's "revocation held"); empty otherwise.
	HeldBy []string `json:"heldBy,omitempty"`
}

// SecretResult is one target namespace's Secret.
type SecretResult struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"` // create, update, unchanged (planned) / created, updated, replaced...
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`
	// uid of the Secret as written, for its Events (kubectl describe finds Events by UID).
	uid types.UID
}

// SAResult is one ServiceAccount binding.
type SAResult struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"` // bind, bound, held (its owner keeps removing the entry)
	Error     string `json:"error,omitempty"`
	// Conflict says why a binding is held, and how to configure its owner (docs/gitops.md).
	Conflict string `json:"conflict,omitempty"`
}

// WorkloadResult is one dependent workload.
type WorkloadResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Via       string `json:"via"`
	Action    string `json:"action"` // restart, restarted, unchanged, deferred, failed
	// Reason says why it was or was not restarted; Detail says it in words (the pods concerned,
	// the failing image).
	Reason RestartReason `json:"reason,omitempty"`
	Detail string        `json:"detail,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// OK reports whether every target is done.
func (r *Report) OK() bool { return len(r.Errors) == 0 }

func (r *Report) fail(cause Cause, format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	if r.Cause != Permanent {
		r.Cause = cause
	}
}

// setPlan starts the report from the plan's decision, warnings and problems.
func (r *Report) setPlan(p *plan) {
	r.Registry, r.Action, r.Decision = p.registry, p.decision, p.reason
	r.Warnings = append([]string(nil), p.warnings...)
	r.Errors, r.Cause = nil, ""
	for _, prob := range p.problems {
		r.fail(Permanent, "%s", prob)
	}
	r.Abandoned = append([]CredentialRef(nil), p.abandoned...)
}

func (r *Report) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
