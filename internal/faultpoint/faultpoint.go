// Package faultpoint names the points between the steps of a rotation where a crash test kills
// the process. In normal builds Hit compiles to nothing; only a binary built with
// `-tags faultpoints` can die there, when ROTATOR_FAULTPOINT names the point. Production builds
// cannot reach it.
package faultpoint

// Points of a rotation, in order. "write", "restart" and "revoke" are hit once per namespace,
// workload or credential; ROTATOR_FAULTPOINT=write#2 dies after the second namespace's write.
const (
	AfterIssue    = "issue"    // the provider created the credential; not yet recorded
	AfterRecord   = "record"   // the new credential is recorded as pending
	AfterVerify   = "verify"   // the new credential pulled
	AfterWrite    = "write"    // one namespace's Secret written
	AfterBind     = "bind"     // ServiceAccounts bound
	AfterRestart  = "restart"  // one workload restarted and rolled out
	BeforeRevoke  = "revoke"   // about to revoke one old credential (promotion not yet saved)
	AfterRevoke   = "revoked"  // one old credential revoked, state not yet saved
	AfterPromoted = "promoted" // state saved at the end of the run
)

// All lists every point, for the crash test.
var All = []string{AfterIssue, AfterRecord, AfterVerify, AfterWrite, AfterBind, AfterRestart, BeforeRevoke, AfterRevoke, AfterPromoted}
