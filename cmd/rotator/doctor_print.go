package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rotatorhq/rotator/internal/doctor"
)

// printDiagnosis writes the human form of a doctor's report: per pod, per container, the cause,
// why, and the fix to paste; then the warnings.
func printDiagnosis(w io.Writer, r *doctor.Report) {
	fmt.Fprintf(w, "doctor: %s", r.Target)
	if r.Cluster != "" {
		fmt.Fprintf(w, " in cluster %s", r.Cluster)
	}
	if r.Probed {
		fmt.Fprint(w, " (probed the registries)")
	}
	fmt.Fprintln(w)
	if len(r.Pods) == 0 {
		fmt.Fprintln(w, "  no pods")
	}
	for _, p := range r.Pods {
		owner := ""
		if p.Owner != "" {
			owner = " (" + p.Owner + ")"
		}
		fmt.Fprintf(w, "\npod %s%s, serviceaccount %s, %s\n", p.Name, owner, p.ServiceAccount, p.Phase)
		for _, c := range p.Containers {
			kind := "container"
			if c.Init {
				kind = "init container"
			}
			fmt.Fprintf(w, "  %s %s, image %s", kind, c.Name, c.Image)
			if c.Waiting != "" {
				fmt.Fprintf(w, ": %s (%s)", c.Waiting, c.Class)
			}
			fmt.Fprintln(w)
			printFinding(w, c.Cause, "    ")
			for _, wf := range c.Warnings {
				printFinding(w, wf, "    ")
			}
			for _, n := range c.NotChecked {
				printNotChecked(w, n, "    ")
			}
		}
	}
	if r.Healthy {
		fmt.Fprintln(w, "\nhealthy: every image pull works")
	} else {
		fmt.Fprintf(w, "\n%d problem(s) found\n", r.Problems())
	}
	if r.Limited {
		fmt.Fprintf(w, "some checks were not made (\"not checked\" above): this identity may not read those Secrets; the shipped ClusterRole rotator-doctor reads none. "+
			"Bind ClusterRole %s with a RoleBinding in a namespace for full checks there (deploy/rbac/doctor-secrets-role.yaml).\n", doctor.RoleSecrets)
	}
}

// printNotChecked says what the doctor could not check, what it would have told, and the grant.
func printNotChecked(w io.Writer, n doctor.NotChecked, indent string) {
	fmt.Fprintf(w, "%snot checked %s: %s\n", indent, n.Check, n.Summary)
	if len(n.Codes) > 0 {
		codes := make([]string, len(n.Codes))
		for i, c := range n.Codes {
			codes[i] = string(c)
		}
		fmt.Fprintf(w, "%s  would tell: %s\n", indent, strings.Join(codes, ", "))
	}
	if n.Grant != "" {
		fmt.Fprintf(w, "%s  grant:\n%s    %s\n", indent, indent, n.Grant)
	}
}

func printFinding(w io.Writer, f doctor.Finding, indent string) {
	mark := map[doctor.Severity]string{doctor.SeverityOK: "ok", doctor.SeverityWarning: "warning", doctor.SeverityError: "PROBLEM"}[f.Severity]
	fmt.Fprintf(w, "%s%s %s: %s\n", indent, mark, f.Code, f.Summary)
	if f.Explanation != "" {
		fmt.Fprintf(w, "%s  why: %s\n", indent, f.Explanation)
	}
	if len(f.Fix) > 0 {
		fmt.Fprintf(w, "%s  fix:\n", indent)
		for _, l := range f.Fix {
			fmt.Fprintf(w, "%s    %s\n", indent, l)
		}
	}
}
