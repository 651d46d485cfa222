package rotation

import (
	"fmt"
	"time"
)

// Report is the outcome of one credential's run, as `-o json` prints it. It never holds a
// secret: credentials are named by provider id and name only.
type Report struct {
	Credential string `json:"credential"`
	Provider   string `json:"provider"`
	Registry   string `json:"registry"`
	DryRun     bool   `json:"dryRun,omitempty"`
	// Result: "succeeded", "failed", "nothing-due", or "planned" for a dry run.
	Result string `json:"result"`
	// Decision says why the run did what it did (new credential, resumed, repair only...).
	Decision string         `json:"decision"`
	Issued   *CredentialRef `json:"issued,omitempty"`
	// RolledBack is a new credential taken back out of the targets (it could not pull).
	RolledBack      *CredentialRef   `json:"rolledBack,omitempty"`
	Revoked         []CredentialRef  `json:"revoked,omitempty"`
	Secrets         []SecretResult   `json:"secrets,omitempty"`
	ServiceAccounts []SAResult       `json:"serviceAccounts,omitempty"`
	Workloads       []WorkloadResult `json:"workloads,omitempty"`
	Verified        []string         `json:"verified,omitempty"`
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
}

// SecretResult is one target namespace's Secret.
type SecretResult struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"` // create, update, unchanged (planned) / created, updated, replaced...
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`
}

// SAResult is one ServiceAccount binding.
type SAResult struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"` // bind, bound
	Error     string `json:"error,omitempty"`
}

// WorkloadResult is one dependent workload.
type WorkloadResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Via       string `json:"via"`
	Action    string `json:"action"` // restart, restarted, unchanged, skipped
	Error     string `json:"error,omitempty"`
}

// OK reports whether every target is done.
func (r *Report) OK() bool { return len(r.Errors) == 0 }

func (r *Report) fail(format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
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
