package gitlabdouble

import "time"

// Plan is the GitLab offering and subscription the double plays, for what it changes about
// project and group access tokens (the ee/ policies' resource_access_token_feature_available
// and Namespace#reached_project_access_token_limit?). Deploy tokens are the same on every plan.
type Plan string

const (
	// PlanSelfManaged (the default): self-managed or Dedicated, any license: every token kind.
	PlanSelfManaged Plan = ""
	// PlanFree is gitlab.com Free: no project or group access tokens. GitLab then answers a
	// list 401 and a create 400 "User does not have permission to create … access token".
	PlanFree Plan = "free"
	// PlanTrial is a gitlab.com trial: one active project access token per top-level group
	// (the next create answers 400 "Access token limit reached" while it is active, grace
	// period included), and no group access tokens.
	PlanTrial Plan = "trial"
	// PlanPremium is gitlab.com Premium or Ultimate: every token kind.
	PlanPremium Plan = "premium"
)

// trialProjectTokenLimit is plan_limits.project_access_token_limit of a trial.
const trialProjectTokenLimit = 1

// accessTokensAvailable: the plan offers access tokens of ns's kind at all (without them GitLab
// also refuses to read them).
func (s *Server) accessTokensAvailable(ns *namespace) bool {
	switch s.o.Plan {
	case PlanFree:
		return false
	case PlanTrial:
		return ns.kind == kindProject
	}
	return true
}

// mayCreateAccessTokens is GitLab's :create_resource_access_tokens for u on ns, apart from the
// role: the plan, the top-level group's "allow access token creation" setting, and the rule
// that a bot (the user of a project or group access token) may never create one. GitLab gives
// all of them the same answer. The caller must hold s.mu.
func (s *Server) mayCreateAccessTokens(u *User, ns *namespace) bool {
	return !u.Bot && !s.creationOff && s.accessTokensAvailable(ns)
}

// reachedTrialLimit: on a trial, the top-level group of ns already has its one active project
// access token. The caller must hold s.mu.
func (s *Server) reachedTrialLimit(ns *namespace, now time.Time) bool {
	if s.o.Plan != PlanTrial || ns.kind != kindProject {
		return false
	}
	n := 0
	for _, t := range s.accessTokens {
		if t.holder.kind == kindProject && t.holder.root() == ns.root() && t.active(now) {
			n++
		}
	}
	return n >= trialProjectTokenLimit
}

// root is the top-level group above ns (ns itself for a top-level group).
func (ns *namespace) root() *namespace {
	n := ns
	for n.parent != nil {
		n = n.parent
	}
	return n
}

// SetAccessTokenCreation switches "Users can create project access tokens and group access
// tokens in this group" (a top-level group's setting on every group of the double at once): off,
// a create answers 400 "User does not have permission to create … access token" even to an
// Owner, while the tokens can still be read and revoked.
func (s *Server) SetAccessTokenCreation(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creationOff = !allowed
}

// dateIn is the calendar date of t in loc (nil: UTC), as a time at 00:00 UTC of that date:
// GitLab's Date.current in the instance's time zone (gitlab_rails['time_zone']).
func dateIn(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
