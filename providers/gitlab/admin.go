package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/rotatorhq/rotator/providers"
)

// adminAPI is what GitLab tells about the admin token and its user.
type adminAPI interface {
	// self is GET /personal_access_tokens/self (any scope may call it).
	self(ctx context.Context) (*gl.PersonalAccessToken, error)
	// user is GET /user.
	user(ctx context.Context) (*gl.User, error)
}

type glAdminAPI struct {
	pats  gl.PersonalAccessTokensServiceInterface
	users gl.UsersServiceInterface
}

func (a glAdminAPI) self(ctx context.Context) (*gl.PersonalAccessToken, error) {
	t, _, err := a.pats.GetSinglePersonalAccessToken(gl.WithContext(ctx))
	if err == nil && t == nil {
		err = errors.New("GitLab answered without the token")
	}
	return t, err
}

func (a glAdminAPI) user(ctx context.Context) (*gl.User, error) {
	u, _, err := a.users.CurrentUser(gl.WithContext(ctx))
	if err == nil && u == nil {
		err = errors.New("GitLab answered without the user")
	}
	return u, err
}

// AdminToken is what GitLab says about the admin token, for the doctor.
type AdminToken struct {
	// Name and Scopes of the token; ExpiresAt is 00:00 UTC of its expiry date (zero: never).
	Name      string
	Scopes    []string
	ExpiresAt time.Time
	// Username of its user; Bot says the token is a project or group access token.
	Username string
	Bot      bool
}

// CheckAdminToken asks GitLab about the admin token itself (GET /personal_access_tokens/self,
// then GET /user) and reports, as one error wrapping the sentinels, what stops it from
// managing this provider's tokens: expired (ErrAdminTokenExpired) or revoked
// (ErrAdminTokenRevoked), without the api scope (ErrAdminTokenScope), or, for access tokens, a
// bot's (ErrBotAdmin). What GitLab told is returned even with an error.
func (p *Provider) CheckAdminToken(ctx context.Context) (AdminToken, error) {
	c := call{what: fmt.Sprintf("gitlab: check the admin token at %s", p.url)}
	var info AdminToken
	var t *gl.PersonalAccessToken
	err := p.do(ctx, "token self", idempotent, func(ctx context.Context) error {
		var err error
		t, err = p.admin.self(ctx)
		return err
	})
	if err != nil {
		return info, p.explain(c, err)
	}
	info.Name, info.Scopes = t.Name, slices.Clone(t.Scopes)
	if t.ExpiresAt != nil {
		d := time.Time(*t.ExpiresAt)
		info.ExpiresAt = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	var problems []error
	switch {
	case t.Revoked:
		problems = append(problems, kinded(fmt.Errorf("%s: the admin token %q is revoked: create a new personal access token with the api scope "+
			"and put it where gitlab.tokenFrom points", c.what, t.Name), providers.ErrAuth, ErrAdminTokenRevoked))
	case !t.Active || (!info.ExpiresAt.IsZero() && !p.now().Before(info.ExpiresAt)):
		problems = append(problems, kinded(fmt.Errorf("%s: the admin token %q has expired (%s): create a new personal access token with the api "+
			"scope and put it where gitlab.tokenFrom points", c.what, t.Name, info.ExpiresAt.Format(time.DateOnly)), providers.ErrAuth, ErrAdminTokenExpired))
	}
	if !slices.Contains(t.Scopes, "api") {
		problems = append(problems, kinded(fmt.Errorf("%s: the admin token %q has the scopes [%s], not api, which managing tokens needs: "+
			"create a personal access token with the api scope", c.what, t.Name, strings.Join(t.Scopes, " ")), providers.ErrForbidden, ErrAdminTokenScope))
	}
	if len(problems) > 0 {
		return info, errors.Join(problems...)
	}
	u, err := p.admin.user(ctx)
	if err != nil {
		return info, p.explain(c, err)
	}
	info.Username, info.Bot = u.Username, u.Bot
	if u.Bot && p.kind != DeployToken {
		return info, kinded(fmt.Errorf("%s: %s", c.what, botHint(u.Username)), providers.ErrForbidden, ErrBotAdmin)
	}
	return info, nil
}

// botHint explains why a bot's token cannot create access tokens, and the ways out.
func botHint(username string) string {
	return fmt.Sprintf("the admin token is a project/group access token (bot user %q): bots cannot create access tokens; "+
		"use a personal access token of a person with Maintainer/Owner, or use deploy tokens (gitlab.tokenKind: deployToken, "+
		"which a bot with the Owner role may create)", username)
}

// onGitLabCom: the provider talks to gitlab.com, where the plan decides about access tokens.
func (p *Provider) onGitLabCom() bool {
	u, err := url.Parse(p.url)
	return err == nil && strings.EqualFold(u.Hostname(), "gitlab.com")
}

// explainCreateRefused explains GitLab's 400 "User does not have permission to create …
// access token", which GitLab gives alike for a missing role, a plan without access tokens,
// creation switched off, and a bot admin token. Two reads tell them apart: GET /user (a bot?)
// and a list of the access tokens (GitLab lets the user read them only with the role and a
// plan that has them).
func (p *Provider) explainCreateRefused(ctx context.Context, c call, err error) error {
	if u, uerr := p.admin.user(ctx); uerr == nil && u.Bot {
		return kinded(fmt.Errorf("%s: %s: %w", c.what, botHint(u.Username), err), providers.ErrForbidden, ErrBotAdmin)
	}
	_, _, lerr := p.tokens.list(ctx, c.holder, 1)
	if lerr == nil {
		return kinded(fmt.Errorf("%s: the admin token's user may manage the %ss of %s %q, so GitLab refuses to create them at all: "+
			"access token creation is switched off (the top-level group's setting \"Users can create project access tokens and "+
			"group access tokens in this group\", under Settings > General > Permissions and group features): switch it on, or use "+
			"deploy tokens: %s: %w", c.what, p.kindName(), p.holderKind(), c.holder, deployTokenHint, err),
			providers.ErrForbidden, ErrAccessTokensUnavailable)
	}
	plan := "on gitlab.com, project access tokens need Premium or Ultimate (a trial allows one) and group access tokens a paid plan (not a trial)"
	if p.onGitLabCom() {
		return kinded(fmt.Errorf("%s: GitLab refused to create a %s: %s, and without one GitLab also refuses to list them; "+
			"or %s: %s: %w", c.what, p.kindName(), plan, c.forbidden, deployTokenHint, err), providers.ErrForbidden, ErrAccessTokensUnavailable)
	}
	return kinded(fmt.Errorf("%s: GitLab denied it to the admin token: %s (or %s; or access token creation is switched off "+
		"for the top-level group); %s: %w", c.what, c.forbidden, plan, deployTokenHint, err), providers.ErrForbidden)
}

// CheckAdmin is CheckAdminToken for callers that need only the verdict (doctor.AdminChecker).
func (p *Provider) CheckAdmin(ctx context.Context) error {
	_, err := p.CheckAdminToken(ctx)
	return err
}
