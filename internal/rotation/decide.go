package rotation

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// decide takes every decision of the run from the snapshot, in this order, and records it in
// p (and in p.state, which the run saves; a dry run does not):
//
//  1. settle the Intent of an interrupted run: only the credential of exactly that name is an
//     orphan of this installation;
//  2. judge the pending and current credentials: a dead one is abandoned (retired at once)
//     and replaced in this same run;
//  3. if the state was lost, rebuild it from the managed secrets and the provider's list;
//  4. what happens to the credential: issue, resume or repair;
//  5. which retired credentials may be revoked once the run has distributed.
func decide(p *plan, opts Options, now time.Time) {
	st := p.state
	p.now = now
	if p.listErr != nil {
		p.warnings = append(p.warnings, fmt.Sprintf("could not check the credentials at the provider, so none was judged dead: %v", p.listErr))
	}
	p.settleIntent()
	if st.Pending != nil {
		if dead, why := p.dead(st.Pending, now); dead {
			p.abandon(st.Pending, why, now)
			st.Pending = nil
		}
	}
	if st.Current != nil {
		if dead, why := p.dead(st.Current, now); dead {
			p.abandon(st.Current, why, now)
			st.Current = nil
		}
	}
	if !st.Exists() {
		p.rebuild(now)
	}
	p.sweep()
	p.decision, p.reason = p.choose(opts, now)
	if p.decision != RepairOnly {
		p.verifyImages = p.imagesToVerify()
		if len(p.verifyImages) == 0 {
			// Before the provider is asked for anything: a credential that cannot be verified
			// would be revoked at once.
			p.blocking = append(p.blocking, fmt.Sprintf("no image to verify the new credential with: set credentials[%s].verifyImages to an image in each project", p.cred.Name))
		}
	}
	if p.decision == IssueNew && st.Intent != nil && !p.clearIntent {
		// Issuing now would overwrite the only record of a credential that may exist.
		p.blocking = append(p.blocking, fmt.Sprintf("a credential %s requested by an interrupted run may exist at the provider, which could not be listed (%v): the next run deletes it first", st.Intent.Name, p.listErr))
	}
	p.planRevocations(now)
}

// settleIntent finds the credential an interrupted run requested, by its exact recorded name.
// It is deleted unless the state knows it. Nothing is ever deleted by prefix or by time: two
// clusters sharing a provider, a prefix and a config must never touch each other's.
func (p *plan) settleIntent() {
	st := p.state
	if st.Issuing != nil && st.Intent == nil {
		// Written by an older version: it names no credential, so there is nothing safe to do.
		p.warnings = append(p.warnings, fmt.Sprintf("an interrupted run of an older version requested a credential at %s; its name was not recorded, so it is left to the provider's admin (look for names starting with %s)", st.Issuing.UTC().Format(time.RFC3339), p.spec.NamePrefix))
		p.clearIntent = true
		return
	}
	if st.Intent == nil || p.listErr != nil {
		return
	}
	for _, o := range p.owned {
		if o.GivenName == st.Intent.Name && !st.Known(o.ID) {
			p.retireOrphan(o.ID, o.Name, "requested by a run that died before recording it")
		}
	}
	p.clearIntent = true
}

// retireOrphan records a credential of this installation nobody can use as retired, revocable
// now: in the state, not only in this run's plan, so that a run that stops before its revoke
// phase (RotateAll's deferred first pass, a crash) leaves it known to the next one.
func (p *plan) retireOrphan(id, name, why string) {
	p.state.Retired = append(p.state.Retired, state.Retired{ID: id, Name: name, RetiredAt: p.now, RevokeAt: p.now, Reason: "orphan: " + why})
	p.orphans++
}

// dead says whether c no longer authenticates, and why. It needs no registry request: the
// provider's list (one request per run) tells deleted, disabled, expired and renamed apart.
// Without the list nothing is judged dead but what the state itself shows.
func (p *plan) dead(c *state.Issued, now time.Time) (bool, string) {
	if c.Password == "" {
		return true, "its password is missing from the state Secret"
	}
	if nearlyExpired(c.ExpiresAt, now) {
		return true, "it expired at " + expiry(c.ExpiresAt)
	}
	if p.listErr != nil {
		return false, ""
	}
	if !p.sameProjects(c) {
		// Listed among other projects' credentials (Harbor: project robots of one project,
		// system robots of several): absence from this list says nothing. The change of
		// projects makes a new credential due anyway (choose).
		return false, ""
	}
	for _, o := range p.owned {
		if o.ID != c.ID {
			continue
		}
		switch {
		case o.Disabled:
			return true, "it is disabled at the provider"
		case nearlyExpired(o.ExpiresAt, now):
			return true, "it expired at the provider at " + expiry(o.ExpiresAt)
		case c.Name != "" && o.Name != c.Name:
			return true, fmt.Sprintf("the provider renamed it to %s (a change of Harbor's robot name prefix?): its username no longer logs in", o.Name)
		}
		return false, ""
	}
	return true, "it no longer exists at the provider (deleted, or renamed by a change of Harbor's robot name prefix)"
}

// abandon retires a dead credential at once: it is revoked, best effort, as soon as no target
// holds it, which is after this run rewrote them.
func (p *plan) abandon(c *state.Issued, why string, now time.Time) {
	p.state.RetireIssued(c, now, now, "abandoned: "+why)
	ref := CredentialRef{ID: c.ID, Name: c.Name, ExpiresAt: c.ExpiresAt, Reason: why}
	p.abandoned = append(p.abandoned, ref)
	p.warnings = append(p.warnings, fmt.Sprintf("credential %s (id %s) abandoned: %s; a new one replaces it in this run", c.Name, c.ID, why))
}

// rebuild recovers from a lost state Secret: the credentials the managed secrets hold are
// recorded as retired (revoked once no target holds them), and this installation's credentials
// that nothing knows are revoked. Credentials of other installations (another tag) or of
// versions without tags are never touched.
func (p *plan) rebuild(now time.Time) {
	st := p.state
	found := 0
	for _, ns := range p.namespaces {
		s := p.secrets[ns]
		if s == nil {
			continue
		}
		id := s.Annotations[secretsync.AnnotationCredentialID]
		if id == "" || st.Known(id) {
			continue
		}
		exp, _ := time.Parse(time.RFC3339, s.Annotations[secretsync.AnnotationExpiresAt])
		st.Retired = append(st.Retired, state.Retired{ID: id, Name: s.Annotations[secretsync.AnnotationCredentialName],
			RetiredAt: now, RevokeAt: now.Add(p.cred.RevokeAfter.Duration), ExpiresAt: exp, Reason: "found in a managed secret after the state was lost"})
		found++
	}
	if found > 0 {
		p.warnings = append(p.warnings, fmt.Sprintf("no state Secret: %d credential(s) found in the managed secrets are retired and replaced", found))
	}
	st.SweepPending = true
}

// sweep, after a lost state, retires this installation's credentials that nothing knows. It
// waits for a run that can list the provider (SweepPending stays in the state until then).
func (p *plan) sweep() {
	st := p.state
	if !st.SweepPending || p.listErr != nil {
		return
	}
	if p.installTag != "" {
		for _, o := range p.owned {
			if strings.HasPrefix(o.GivenName, p.spec.NamePrefix) && strings.HasSuffix(o.GivenName, "-"+p.installTag) && !st.Known(o.ID) && len(p.holders(o.ID)) == 0 {
				p.retireOrphan(o.ID, o.Name, "created by this installation, unknown since its state was lost")
			}
		}
	}
	st.SweepPending = false
	p.swept = true
}

// choose what happens to the credential itself; see Decision.
func (p *plan) choose(opts Options, now time.Time) (Decision, string) {
	st := p.state
	switch {
	case st.Pending != nil:
		return ResumePending, fmt.Sprintf("resume credential %s issued at %s, not yet everywhere", st.Pending.Name, st.Pending.IssuedAt.UTC().Format(time.RFC3339))
	case len(p.abandoned) > 0:
		return IssueNew, fmt.Sprintf("credential %s no longer authenticates (%s): issue a new one", p.abandoned[0].Name, p.abandoned[0].Reason)
	case !opts.IfDue:
		return IssueNew, "rotate now: issue a new credential"
	case st.Current == nil:
		return IssueNew, "no credential issued yet"
	case st.Current.Registry != p.registry:
		return IssueNew, fmt.Sprintf("registry host changed from %s to %s", st.Current.Registry, p.registry)
	case !p.sameProjects(st.Current):
		return IssueNew, fmt.Sprintf("projects changed from %s to %s", strings.Join(st.Current.Projects, ","), strings.Join(p.spec.Projects, ","))
	}
	if renewAt := p.cred.RenewAt(st.Current.IssuedAt, st.Current.ExpiresAt); !renewAt.IsZero() && !now.Before(renewAt) {
		return IssueNew, fmt.Sprintf("credential %s expires at %s (renew from %s)", st.Current.Name,
			st.Current.ExpiresAt.UTC().Format(time.RFC3339), renewAt.UTC().Format(time.RFC3339))
	}
	return RepairOnly, "credential current; repair what drifted"
}

// planRevocations lists the retired credentials this run revokes once every target holds the
// credential the run distributes (the projection the dry run shows; the revoke phase asks
// revocable again with what was really written). With no grace period, the credential this
// run replaces goes in the same run.
func (p *plan) planRevocations(now time.Time) {
	st := p.state
	retired := append([]state.Retired(nil), st.Retired...)
	if p.decision != RepairOnly && st.Current != nil && p.cred.RevokeAfter.Duration <= 0 {
		retired = append(retired, state.Retired{ID: st.Current.ID, Name: st.Current.Name, RevokeAt: now, ExpiresAt: st.Current.ExpiresAt})
	}
	for _, ret := range retired {
		ref := CredentialRef{ID: ret.ID, Name: ret.Name, ExpiresAt: ret.ExpiresAt, Reason: "replaced; grace period ended"}
		if strings.HasPrefix(ret.Reason, "abandoned") || strings.HasPrefix(ret.Reason, "orphan") {
			ref.Reason = ret.Reason
		}
		switch {
		case expired(ret.ExpiresAt, now):
			ref.Reason = "expired"
		case now.Before(ret.RevokeAt):
			ref.Reason = "grace period until " + ret.RevokeAt.UTC().Format(time.RFC3339)
			p.held = append(p.held, ref)
			continue
		}
		if !p.revoking(ref.ID) {
			p.revoke = append(p.revoke, ref)
		}
	}
}

// holders are the target namespaces whose managed Secret holds credential id, sorted.
func (p *plan) holders(id string) []string {
	var out []string
	for ns, held := range p.holds {
		if held == id {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// sameProjects: c was issued for the projects of the current config (or by a version that did
// not record them, when that is assumed).
func (p *plan) sameProjects(c *state.Issued) bool {
	if len(c.Projects) == 0 {
		return true
	}
	a, b := slices.Clone(c.Projects), slices.Clone(p.spec.Projects)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func expired(at, now time.Time) bool { return !at.IsZero() && !now.Before(at) }

// clockSkewAllowance: the provider's clock decides when a credential expires, and ours may be
// behind it. A credential this close to its expiry is judged dead already, so a skewed replica
// never keeps distributing one the provider refuses (renewal is due long before, in any case).
const clockSkewAllowance = 5 * time.Minute

func nearlyExpired(at, now time.Time) bool { return expired(at, now.Add(clockSkewAllowance)) }
