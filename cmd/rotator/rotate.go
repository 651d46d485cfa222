package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
)

type rotateFlags struct {
	config     string
	credential string
	cluster    string
	ifDue      bool
	dryRun     bool
	output     string
	waitLock   bool
	// respectWindows: a credential outside every window is left alone (rotate_respect.go).
	respectWindows bool
	// now is the clock of --respect-windows (tests set it); nil: time.Now.
	now func() time.Time
	// skipRolloutWait is hidden: the benchmark times the write phase with it (see bench/).
	skipRolloutWait bool
}

func newRotateCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "rotate", Short: "Rotate credentials", Example: "  rotator rotate now --config config.yaml --dry-run"}
	f := &rotateFlags{}
	now := &cobra.Command{
		Use: "now --config FILE",
		Example: `  rotator rotate now --config config.yaml --dry-run     # the plan, nothing changed
  rotator rotate now --config config.yaml                # issue, verify, distribute, restart, revoke
  rotator rotate now --config config.yaml --if-due -o json
  rotator rotate now --config config.yaml --credential harbor-prod --context prod
  rotator rotate now --config fleet.yaml --cluster east  # one cluster of the fleet`,
		Short: "Issue, verify, write, restart and revoke now (or only what is due with --if-due)",
		Long: `Rotate every configured credential (or one, with --credential): issue a new pull-only
credential, verify it with a real pull, write it into every target namespace, bind it to the
ServiceAccounts, restart the dependent workloads, and revoke the previous credential once its
grace period has ended. A credential issued by an interrupted run is resumed, not issued again.

Windows (windows: in the config) bind 'rotator run' only: rotate now ignores them, unless
--respect-windows is given; then a credential outside every window is left alone and reported
("outside every window; next at <time>"), which is not a failure. A suspended credential
(suspend: true) is rotated by rotate now like any other.

Exit status: 0 every target done (a credential left alone by --respect-windows counts as done);
1 some target not done (each named); 2 invalid config or flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRotateNow(cmd, g, f) },
	}
	now.Flags().StringVar(&f.config, "config", "", "config file (required)")
	now.Flags().StringVar(&f.credential, "credential", "", "rotate only this credential")
	now.Flags().StringVar(&f.cluster, "cluster", "", "rotate only in this cluster of the fleet (clusters: in the config; \"local\" is the rotator's own)")
	now.Flags().BoolVar(&f.ifDue, "if-due", false, "act only on what needs it: missing or drifted secrets, unbound ServiceAccounts, credentials near expiry, revocations due")
	now.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the full plan and change nothing, in the cluster or at the registry")
	now.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text, json or yaml")
	now.Flags().BoolVar(&f.respectWindows, "respect-windows", false, "leave alone, and report, each credential outside every window of the config (exit status 0); by default rotate now ignores windows")
	now.Flags().BoolVar(&f.waitLock, "wait-lock", false, "wait while another rotation (rotator run, another rotate now) holds the run lock, instead of failing at once naming it")
	now.Flags().BoolVar(&f.skipRolloutWait, "skip-rollout-wait", false, "restart dependent workloads without waiting for their rollouts (for benchmarks)")
	_ = now.Flags().MarkHidden("skip-rollout-wait")
	_ = now.MarkFlagRequired("config")
	cmd.AddCommand(now)
	return cmd
}

func runRotateNow(cmd *cobra.Command, g *globalFlags, f *rotateFlags) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	creds, err := selectCredentials(cfg, f.credential)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	out := cmd.OutOrStdout()
	var skipped []windowSkip
	if f.respectWindows {
		clock := f.now
		if clock == nil {
			clock = time.Now
		}
		creds, skipped = splitByWindows(cfg, creds, clock())
		if f.output == "text" {
			printSkips(out, skipped)
		}
		if len(creds) == 0 {
			return printRotateJSON(out, f, nil, skipped, true)
		}
	}
	a, err := wire(cmd.Context(), cfg, creds, g, cmd.ErrOrStderr(), nil)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	runner := a.runner
	runner.Progress = printProgress(cmd.ErrOrStderr())
	// The same lock as `rotator run`: a manual and a scheduled rotation of a cluster never
	// overlap. Each credential's run is an acquisition of its own, named after this process and
	// the command.
	locks := runLocks(a, cfg, "rotate now", f.waitLock)
	runner.Lock = locks(config.LocalCluster)
	opts := rotation.Options{IfDue: f.ifDue, DryRun: f.dryRun, SkipRolloutWait: f.skipRolloutWait}
	var reports []*rotation.Report
	if len(cfg.Clusters) == 0 && f.cluster == "" {
		// Every credential's Secrets are written before any workload restarts (RotateAll).
		reports = runner.RotateAll(cmd.Context(), creds, opts)
	} else {
		// A fleet: each cluster on its own, all at once (rotateFleet), under its own run lock.
		runs := planClusters(cfg, creds, f.cluster)
		if len(runs) == 0 {
			return &exitError{code: exitUsage, err: fmt.Errorf("no selected credential targets cluster %q (clusters: local%s)", f.cluster, clusterNames(cfg))}
		}
		reports = rotateFleet(cmd.Context(), a, cfg, runs, opts, locks)
	}
	ok := true
	for _, rep := range reports {
		ok = ok && rep.OK()
		if f.output == "text" {
			printReport(out, rep)
		}
	}
	if err := printRotateJSON(out, f, reports, skipped, ok); err != nil {
		return err
	}
	if !ok {
		return &exitError{code: exitFailed, err: notDone(reports, f.output)}
	}
	return nil
}

// printRotateJSON prints the result with -o json or yaml: the reports, and the credentials left
// alone by --respect-windows.
func printRotateJSON(out io.Writer, f *rotateFlags, reports []*rotation.Report, skipped []windowSkip, ok bool) error {
	if !structured(f.output) {
		return nil
	}
	doc := map[string]any{"reports": reports, "ok": ok}
	if f.respectWindows {
		doc["outsideWindows"] = skipped
	}
	return printStructured(out, f.output, doc)
}

func selectCredentials(cfg *config.Config, name string) ([]*config.Credential, error) {
	var out []*config.Credential
	var names []string
	for i := range cfg.Credentials {
		c := &cfg.Credentials[i]
		names = append(names, c.Name)
		if name == "" || c.Name == name {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no credential %q in the config (have: %s)", name, strings.Join(names, ", "))
	}
	return out, nil
}

func printProgress(w io.Writer) func(rotation.Progress) {
	return func(p rotation.Progress) {
		count := ""
		if p.Total > 0 {
			count = fmt.Sprintf(" %d/%d", p.Done, p.Total)
		}
		fmt.Fprintf(w, "[%s] %-14s%s %s (%s)\n", p.Credential, p.Step, count, p.Message, p.Elapsed.Round(1e6))
	}
}

// notDone is the error of a run with targets not done: it names each credential (and cluster of
// a fleet) that is not, so that stderr says which even when stdout is -o json.
func notDone(reports []*rotation.Report, output string) error {
	var names []string
	for _, rep := range reports {
		if rep.OK() {
			continue
		}
		name := rep.Credential
		if rep.Cluster != "" {
			name += " in cluster " + rep.Cluster
		}
		names = append(names, name)
	}
	where := "see above"
	if structured(output) {
		where = "see the report's errors"
	}
	return fmt.Errorf("some targets are not done (%s); %s", strings.Join(names, ", "), where)
}
