package rotation

import (
	"strings"

	"github.com/rotatorhq/rotator/internal/secretsync"
)

// describe fills a dry run's report with the plan: exactly what a real run of it would do if
// every target can be written (TestDryRunPrintsThePlanTheRunExecutes holds the two together).
func (r *Runner) describe(p *plan, rep *Report) {
	for _, b := range p.blocking {
		rep.fail(Permanent, "%s", b)
	}
	if len(p.blocking) > 0 {
		return
	}
	if p.decision == IssueNew {
		rep.Issued = &CredentialRef{Name: p.spec.NamePrefix + "<time>", Reason: "would be issued: pull on " + strings.Join(p.spec.Projects, ", ")}
	}
	fp := ""
	if p.decision == RepairOnly {
		fp = p.state.Current.Fingerprint
	}
	for _, ns := range p.namespaces {
		res := SecretResult{Namespace: ns, Name: p.cred.Targets.SecretName}
		existing := p.secrets[ns]
		switch {
		case p.inTheWay[ns]:
			res.Action, res.Reason = string(SecretFailed), "a Secret of this name the rotator did not write is in the way: set targets.adopt: true to take it over, or delete it"
		case existing == nil:
			res.Action, res.Reason = "create", "missing"
		case fp != "" && secretsync.UpToDate(existing, fp):
			res.Action = "unchanged"
		case existing.Immutable != nil && *existing.Immutable:
			res.Action, res.Reason = "update", "made immutable by its tenant: deleted and created again"
		case fp != "":
			res.Action, res.Reason = "update", "drifted from the current credential"
		default:
			res.Action, res.Reason = "update", "new credential"
		}
		rep.Secrets = append(rep.Secrets, res)
	}
	for _, ns := range p.namespaces {
		for _, sa := range p.cred.Targets.ServiceAccounts {
			if s := p.serviceAccounts.get(ns, sa); s == nil || !secretsync.HasPullSecret(s, p.cred.Targets.SecretName) {
				rep.ServiceAccounts = append(rep.ServiceAccounts, SAResult{Namespace: ns, Name: sa, Action: "bind"})
			}
		}
	}
	// decideRestarts judged every workload for the run; the run carries out exactly this.
	for _, d := range p.restarts {
		action := "unchanged"
		switch {
		case d.restart && d.reason == ReasonOutsideWindow:
			action = "deferred"
		case d.restart:
			action = "restart"
		}
		rep.Workloads = append(rep.Workloads, WorkloadResult{Kind: string(d.w.Kind), Namespace: d.w.Namespace, Name: d.w.Name, Via: d.w.Via, Action: action, Reason: d.reason, Detail: d.detail})
	}
	rep.Revoked = append(rep.Revoked, p.revoke...)
	rep.Held = append(rep.Held, p.held...)
	rep.Verified = p.verifyImages
}
