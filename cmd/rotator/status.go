package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/state"
)

// credentialStatus is one row of `rotator status`.
type credentialStatus struct {
	Credential string `json:"credential"`
	// Cluster of the fleet the row is about ("local": the rotator's own); a credential
	// targeting several clusters has a row, and a credential at the provider, in each.
	Cluster  string `json:"cluster,omitempty"`
	Provider string `json:"provider,omitempty"`
	// Registry of the credential in use (from the state).
	Registry string    `json:"registry,omitempty"`
	Name     string    `json:"name,omitempty"`
	ID       string    `json:"id,omitempty"`
	Issued   time.Time `json:"issued,omitzero"`
	Expires  time.Time `json:"expires,omitzero"`
	// InSync and Namespaces are known only with --config (the targets are in the config).
	InSync     *int      `json:"namespacesInSync,omitempty"`
	Namespaces *int      `json:"namespaces,omitempty"`
	Pending    string    `json:"pending,omitempty"`
	LastRun    time.Time `json:"lastRun,omitzero"`
	LastResult string    `json:"lastResult,omitempty"`
	LastError  string    `json:"lastError,omitempty"`
	NextRun    time.Time `json:"nextRun,omitzero"`
	// Suspended: `rotator run` does no scheduled work for it (suspend: true).
	Suspended bool     `json:"suspended,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

// kubeFunc builds the Kubernetes client of a command that needs no config (status without
// --config); a test passes a fake clientset's.
type kubeFunc func(g *globalFlags) (kubernetes.Interface, error)

func newStatusCommand(g *globalFlags, newKube kubeFunc) *cobra.Command {
	var path, output, namespace, cluster string
	cmd := &cobra.Command{
		Use:   "status [--config FILE | -n NAMESPACE] [--cluster NAME]",
		Short: "Show each credential: issued, expiry, namespaces in sync, last and next run",
		Example: `  rotator status                       # the state Secrets in rotator-system, no config needed
  rotator status -n platform-rotator -o json
  rotator status --config config.yaml  # also namespaces in sync and the next run
  rotator status --config config.yaml -o yaml --context prod
  rotator status --config fleet.yaml --cluster east   # one cluster of the fleet`,
		Long: `Read-only. Without --config: the state Secrets of the rotator's namespace (-n, default
rotator-system) alone, one per credential: the credential in use, its expiry, one pending, the
last run. The targets and the schedule are in the config, so namespaces in sync and the next
run need --config. With --config: the state of each configured credential and a dry-run plan
of what --if-due would do. No secret value is ever shown.

A fleet (clusters: in the config) has one row per credential and cluster, the rotator's own
("local") first: the state of each is read from the rotator's own cluster, so it shows even when
a member is down; namespaces in sync need the member, and a member that cannot be reached is a
problem of its rows, naming it and its API server. Without --config, a member's state Secret
(rotator-state-<credential>.<cluster>) is a row of that cluster. --cluster shows one cluster.

Exit status 0 when every credential is issued (and, with --config, every namespace in sync),
1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if path == "" {
				return statusFromState(cmd, g, newKube, namespace, cluster, output)
			}
			if cmd.Flags().Changed("namespace") {
				return &exitError{code: exitUsage, err: errors.New("--namespace is for status without --config: with it, the config's stateNamespace says where the state is")}
			}
			return statusFromConfig(cmd, g, path, cluster, output)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "config file: adds namespaces in sync and the next run (without it, the state Secrets alone)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", config.DefaultStateNamespace, "without --config: the rotator's namespace, which holds its state Secrets (the config's stateNamespace)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	cmd.Flags().StringVar(&cluster, "cluster", "", "only this cluster of the fleet (\"local\" is the rotator's own)")
	return cmd
}

// statusFromConfig is status with --config: the state of each configured credential in each
// cluster it targets, and a dry-run plan of what --if-due would do there.
func statusFromConfig(cmd *cobra.Command, g *globalFlags, path, cluster, output string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	runs, err := statusClusters(cfg, cluster)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	a, err := wireAll(cmd.Context(), cfg, g, cmd.ErrOrStderr(), nil)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	connectStatus(cmd.Context(), a, cfg, runs)
	rows, ok := fleetRows(cmd.Context(), cfg, a.store, runs, dryRunPlan, time.Now())
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
}

// fromState fills the row from the credential's state: names, ids and times only (the state's
// passwords are not in the row).
func (r *credentialStatus) fromState(st *state.State) {
	if c := st.Current; c != nil {
		r.Name, r.ID, r.Registry, r.Issued, r.Expires = c.Name, c.ID, c.Registry, c.IssuedAt, c.ExpiresAt
	}
	if st.Pending != nil {
		r.Pending = st.Pending.Name
	}
	if lr := st.LastRun; lr != nil {
		r.LastRun, r.LastResult, r.LastError = lr.Time, lr.Result, lr.Error
	}
}

func printStatus(cmd *cobra.Command, rows []credentialStatus) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CREDENTIAL\tCLUSTER\tPROVIDER\tNAME\tID\tISSUED\tEXPIRES\tIN SYNC\tLAST RUN\tRESULT\tNEXT RUN")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Credential, dash(r.Cluster), r.Provider, dash(r.Name), dash(r.ID),
			ts(r.Issued), ts(r.Expires), inSync(r), ts(r.LastRun), dash(r.LastResult), nextRun(r))
	}
	w.Flush()
	printNotes(cmd, rows)
}

// printNotes writes what the table cannot say: suspended, pending, the last error, problems.
func printNotes(cmd *cobra.Command, rows []credentialStatus) {
	for _, r := range rows {
		who := r.who()
		if r.Suspended {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: suspended: rotator run does no scheduled work for it; rotate now still works\n", who)
		}
		if r.Pending != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: credential %s issued but not yet everywhere; the next run resumes it\n", who, r.Pending)
		}
		if r.LastError != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: last run failed: %s\n", who, r.LastError)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", who, p)
		}
	}
}

// who names the row in a note: the credential, and the cluster when it is a member's.
func (r credentialStatus) who() string {
	if r.Cluster == "" || r.Cluster == config.LocalCluster {
		return r.Credential
	}
	return r.Credential + " (cluster " + r.Cluster + ")"
}

// inSync is "n/m", or "-" when the cluster could not be asked.
func inSync(r credentialStatus) string {
	if r.InSync == nil || r.Namespaces == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", *r.InSync, *r.Namespaces)
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
