package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/service"
)

// credentialStatus is one row of `rotator status`.
type credentialStatus struct {
	Credential string    `json:"credential"`
	Provider   string    `json:"provider"`
	Name       string    `json:"name,omitempty"`
	ID         string    `json:"id,omitempty"`
	Issued     time.Time `json:"issued,omitzero"`
	Expires    time.Time `json:"expires,omitzero"`
	InSync     int       `json:"namespacesInSync"`
	Namespaces int       `json:"namespaces"`
	Pending    string    `json:"pending,omitempty"`
	LastRun    time.Time `json:"lastRun,omitzero"`
	LastResult string    `json:"lastResult,omitempty"`
	LastError  string    `json:"lastError,omitempty"`
	NextRun    time.Time `json:"nextRun,omitzero"`
	// Suspended: `rotator run` does no scheduled work for it (suspend: true).
	Suspended bool     `json:"suspended,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

func newStatusCommand(g *globalFlags) *cobra.Command {
	var path, output string
	cmd := &cobra.Command{
		Use:   "status --config FILE",
		Short: "Show each credential: issued, expiry, namespaces in sync, last and next run",
		Example: `  rotator status --config config.yaml
  rotator status --config config.yaml -o yaml --context prod`,
		Long: "Read-only: the state in the cluster and a dry-run plan of what --if-due would do.\nExit status 0 when every credential is issued and every namespace in sync, 1 otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			a, err := wireAll(cmd.Context(), cfg, g, cmd.ErrOrStderr(), nil)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			now := time.Now()
			var rows []credentialStatus
			ok := true
			for i := range cfg.Credentials {
				cred := &cfg.Credentials[i]
				row := credentialStatus{Credential: cred.Name, Provider: cred.Provider, Suspended: cred.Suspend}
				st, err := a.store.Load(cmd.Context(), cred.Name)
				if err != nil {
					row.Problems = append(row.Problems, err.Error())
				} else {
					if c := st.Current; c != nil {
						row.Name, row.ID, row.Issued, row.Expires = c.Name, c.ID, c.IssuedAt, c.ExpiresAt
					}
					if st.Pending != nil {
						row.Pending = st.Pending.Name
					}
					if r := st.LastRun; r != nil {
						row.LastRun, row.LastResult, row.LastError = r.Time, r.Result, r.Error
					}
					row.NextRun = service.NextRun(cfg, cred, st, now)
				}
				plan := a.runner.Rotate(cmd.Context(), cred, rotation.Options{IfDue: true, DryRun: true})
				row.Problems = append(row.Problems, plan.Errors...)
				for _, s := range plan.Secrets {
					row.Namespaces++
					if s.Action == "unchanged" {
						row.InSync++
					}
				}
				ok = ok && row.ID != "" && row.InSync == row.Namespaces && len(row.Problems) == 0 && row.LastResult != "failed"
				rows = append(rows, row)
			}
			if structured(output) {
				if err := printStructured(cmd.OutOrStdout(), output, map[string]any{"credentials": rows}); err != nil {
					return err
				}
			} else {
				printStatus(cmd, rows)
			}
			if !ok {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "config file (required)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func printStatus(cmd *cobra.Command, rows []credentialStatus) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CREDENTIAL\tPROVIDER\tNAME\tID\tISSUED\tEXPIRES\tIN SYNC\tLAST RUN\tRESULT\tNEXT RUN")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.Credential, r.Provider, dash(r.Name), dash(r.ID),
			ts(r.Issued), ts(r.Expires), r.InSync, r.Namespaces, ts(r.LastRun), dash(r.LastResult), nextRun(r))
	}
	w.Flush()
	for _, r := range rows {
		if r.Suspended {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: suspended: rotator run does no scheduled work for it; rotate now still works\n", r.Credential)
		}
		if r.Pending != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: credential %s issued but not yet everywhere; the next run resumes it\n", r.Credential, r.Pending)
		}
		if r.LastError != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: last run failed: %s\n", r.Credential, r.LastError)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", r.Credential, p)
		}
	}
}

func nextRun(r credentialStatus) string {
	if r.Suspended {
		return "suspended"
	}
	return ts(r.NextRun)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
