package main

import (
	"fmt"
	"io"

	"github.com/rotatorhq/rotator/internal/rotation"
)

// printReport writes the human summary of one credential's run.
func printReport(w io.Writer, r *rotation.Report) {
	in := ""
	if r.Cluster != "" {
		in = " in cluster " + r.Cluster
	}
	fmt.Fprintf(w, "\ncredential %s%s (%s, registry %s): %s in %s\n", r.Credential, in, r.Provider, r.Registry, r.Result, r.Duration.Round(1e6))
	if r.Decision != "" {
		fmt.Fprintf(w, "  decision: %s\n", r.Decision)
	}
	if r.Issued != nil {
		verb := "issued"
		if r.DryRun {
			verb = "would issue"
		}
		fmt.Fprintf(w, "  %s: %s %s\n", verb, r.Issued.Name, idOf(r.Issued.ID))
	}
	counts := map[string]int{}
	for _, s := range r.Secrets {
		counts[s.Action]++
	}
	fmt.Fprintf(w, "  secrets: %d namespaces %v\n", len(r.Secrets), counts)
	for _, s := range r.Secrets {
		if r.DryRun && s.Action != "unchanged" {
			fmt.Fprintf(w, "    %s secret %s/%s (%s)\n", s.Action, s.Namespace, s.Name, s.Reason)
		}
	}
	for _, s := range r.ServiceAccounts {
		fmt.Fprintf(w, "  serviceaccount %s/%s: %s\n", s.Namespace, s.Name, s.Action)
	}
	for _, wl := range r.Workloads {
		why := ""
		if wl.Detail != "" {
			why = " (" + wl.Detail + ")"
		}
		fmt.Fprintf(w, "  %s %s/%s (via %s): %s%s\n", wl.Kind, wl.Namespace, wl.Name, wl.Via, wl.Action, why)
	}
	for _, v := range r.Verified {
		fmt.Fprintf(w, "  verify pull: %s\n", v)
	}
	for _, c := range r.Revoked {
		verb := "revoked"
		if r.DryRun {
			verb = "would revoke"
		}
		fmt.Fprintf(w, "  %s: %s %s (%s)\n", verb, c.Name, idOf(c.ID), c.Reason)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", m)
	}
	for _, m := range r.Errors {
		fmt.Fprintf(w, "  error: %s\n", m)
	}
}

func idOf(id string) string {
	if id == "" {
		return ""
	}
	return "(id " + id + ")"
}
