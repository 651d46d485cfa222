package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/kubeclient"
	"github.com/rotatorhq/rotator/internal/state"
)

// noConfigNote says what status without --config cannot know.
const noConfigNote = "namespaces in sync and the next run need --config: the targets and the schedule are in the config, not in the state"

// statusFromState is status without --config: every state Secret of namespace, read alone
// (those of cluster only, when set).
func statusFromState(cmd *cobra.Command, g *globalFlags, newKube kubeFunc, namespace, cluster, output string) error {
	kube, err := newKube(g)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	listed, err := (&state.Store{Client: kube, Namespace: namespace}).List(cmd.Context())
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	rows, ok := stateRows(listed, time.Now())
	if cluster != "" && len(rows) > 0 { // no state at all: the error below says more
		if rows, ok, err = onlyCluster(rows, cluster); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("%w in namespace %s", err, namespace)}
		}
	}
	if structured(output) {
		doc := map[string]any{"stateNamespace": namespace, "credentials": rows, "note": noConfigNote}
		if err := printStructured(cmd.OutOrStdout(), output, doc); err != nil {
			return err
		}
	} else {
		printStateStatus(cmd, rows)
	}
	if len(rows) == 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("no state secret in namespace %s (label %s): nothing rotated there yet, or the rotator's namespace is another one (-n NAMESPACE, the config's stateNamespace)", namespace, state.LabelStateOf)}
	}
	if !ok {
		return &exitError{code: exitFailed}
	}
	return nil
}

// stateRows makes one row per listed state; ok is false when any credential is not issued, has
// expired, failed its last run or has a corrupt state.
func stateRows(listed []state.Listed, now time.Time) (rows []credentialStatus, ok bool) {
	rows = []credentialStatus{} // "credentials": [] rather than null for scripts
	ok = true
	for _, l := range listed {
		cred, member := state.SplitKey(l.Credential)
		row := credentialStatus{Credential: cred, Cluster: cmp.Or(member, config.LocalCluster)}
		if l.Err != nil {
			row.Problems = append(row.Problems, l.Err.Error())
		} else {
			row.fromState(l.State)
			if row.ID == "" {
				row.Problems = append(row.Problems, "no credential issued yet")
			} else if !row.Expires.IsZero() && !row.Expires.After(now) {
				row.Problems = append(row.Problems, fmt.Sprintf("credential %s expired at %s", row.Name, ts(row.Expires)))
			}
		}
		ok = ok && rowHealthy(row)
		rows = append(rows, row)
	}
	// A credential's clusters side by side, its own cluster first (the order of --config).
	slices.SortStableFunc(rows, func(a, b credentialStatus) int {
		return cmp.Or(cmp.Compare(a.Credential, b.Credential), cmp.Compare(clusterRank(a.Cluster), clusterRank(b.Cluster)))
	})
	return rows, ok
}

// clusterRank sorts the rotator's own cluster before the members.
func clusterRank(c string) string {
	if c == config.LocalCluster {
		return ""
	}
	return c
}

func rowHealthy(r credentialStatus) bool { return len(r.Problems) == 0 && r.LastResult != "failed" }

// onlyCluster keeps the rows of cluster; none is an error naming the clusters there are.
func onlyCluster(rows []credentialStatus, cluster string) (kept []credentialStatus, ok bool, err error) {
	kept, ok = []credentialStatus{}, true
	var known []string
	for _, r := range rows {
		if !slices.Contains(known, r.Cluster) {
			known = append(known, r.Cluster)
		}
		if r.Cluster == cluster {
			kept = append(kept, r)
			ok = ok && rowHealthy(r)
		}
	}
	if len(kept) == 0 {
		return nil, false, fmt.Errorf("no state of cluster %q (states of clusters: %s)", cluster, strings.Join(known, ", "))
	}
	return kept, ok, nil
}

// printStateStatus is the table of status without --config: no provider, no namespaces in
// sync, no next run (all in the config).
func printStateStatus(cmd *cobra.Command, rows []credentialStatus) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CREDENTIAL\tCLUSTER\tREGISTRY\tNAME\tID\tISSUED\tEXPIRES\tPENDING\tLAST RUN\tRESULT\tNEXT RUN")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\n", r.Credential, r.Cluster, dash(r.Registry), dash(r.Name), dash(r.ID),
			ts(r.Issued), ts(r.Expires), dash(r.Pending), ts(r.LastRun), dash(r.LastResult))
	}
	w.Flush()
	printNotes(cmd, rows)
	fmt.Fprintln(cmd.OutOrStdout(), noConfigNote)
}

// statusKube is the client of status without --config: the kubeconfig's, as kubectl's.
func statusKube(g *globalFlags) (kubernetes.Interface, error) {
	rc, err := restConfig(g)
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "rotator"
	// One list of one namespace: bounded as the rotator's own calls are.
	rc.Timeout = kubeclient.MainTimeout
	return kubernetes.NewForConfig(rc)
}
