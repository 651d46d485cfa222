package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/internal/endpoint"
)

// call describes one GitLab call for the errors it may produce.
type call struct {
	what      string // what the rotator was doing, e.g. `create deploy token "x" in group "g"`
	holder    string // the project or group, as configured
	forbidden string // the role a 403 (or GitLab's 400/401 variants) means is missing
	notFound  string // what a 404 for the project or group means and what to do about it
	expiry    string // the expiry date asked for, for a create
}

// kindError attaches sentinels (providers.ErrAuth, ErrNotFound…, and this package's) to an
// error without repeating their text in the message.
type kindError struct {
	kinds []error
	err   error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return append(e.kinds[:len(e.kinds):len(e.kinds)], e.err) }

func kinded(err error, kinds ...error) error { return &kindError{kinds: kinds, err: err} }

// deployTokenHint is the way out of every refusal that is specific to access tokens.
const deployTokenHint = "deploy tokens need no plan and no person's token: set gitlab.tokenKind: deployToken " +
	"(a read_registry deploy token; the admin token's user needs Maintainer of the project or Owner of the group)"

// explain turns an error from the client into one that says what failed and how to fix it, and
// wraps the sentinel a caller branches on.
func (p *Provider) explain(c call, err error) error {
	var tokErr *TokenError
	if errors.As(err, &tokErr) { // checked first: a Vault outage must not read as GitLab's
		return fmt.Errorf("%s: %w", c.what, tokErr)
	}
	if apiErr := asAPIError(err); apiErr != nil {
		return p.explainStatus(c, apiErr, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", c.what, err)
	}
	if explained, ok := (endpoint.Endpoint{System: "GitLab", Field: "gitlab", URL: p.url}).ExplainConnError(c.what, err); ok {
		return explained
	}
	return fmt.Errorf("%s: %w", c.what, err)
}

// explainStatus describes a GitLab answer; err is apiErr, possibly with more context around it.
func (p *Provider) explainStatus(c call, apiErr *APIError, err error) error {
	msg := strings.ToLower(apiErr.Message)
	switch s := apiErr.Status; {
	case s == http.StatusUnauthorized && apiErr.OAuthError == "invalid_token":
		return p.invalidAdminToken(c, apiErr, err)
	case s == http.StatusUnauthorized:
		hint := "check gitlab.tokenFrom: the token may be wrong, revoked or expired, or lack the api scope"
		if p.kind != DeployToken {
			hint += "; GitLab also answers 401 when the token's user lacks the role to manage access tokens (" + c.forbidden +
				"), or when the plan has no access tokens (gitlab.com Free; group access tokens on a trial): " + deployTokenHint
		}
		return kinded(fmt.Errorf("%s: GitLab at %s refused the admin token: %s: %w", c.what, p.url, hint, err), providers.ErrAuth)
	case s == http.StatusForbidden && apiErr.OAuthError == "insufficient_scope":
		return kinded(fmt.Errorf("%s: the admin token lacks the api scope GitLab needs for this call (read_api and read_registry "+
			"cannot manage tokens): create a personal access token with the api scope and put it where gitlab.tokenFrom points: %w",
			c.what, err), providers.ErrForbidden, ErrAdminTokenScope)
	case s == http.StatusForbidden:
		return kinded(fmt.Errorf("%s: GitLab denied it to the admin token: %s: %w", c.what, c.forbidden, err), providers.ErrForbidden)
	case s == http.StatusBadRequest && strings.Contains(msg, "access token limit reached"):
		return kinded(fmt.Errorf("%s: GitLab allows no more project access tokens in this top-level group: a gitlab.com trial "+
			"allows one active project access token, and the previous one is still active (the rotator keeps it through "+
			"its grace period): upgrade to Premium or Ultimate, or use deploy tokens: %s: %w", c.what, deployTokenHint, err),
			providers.ErrForbidden, ErrAccessTokenLimit)
	case s == http.StatusBadRequest && (strings.Contains(msg, "does not have permission") || strings.Contains(msg, "cannot delete")):
		return kinded(fmt.Errorf("%s: GitLab denied it to the admin token: %s: %w", c.what, c.forbidden, err), providers.ErrForbidden)
	case s == http.StatusBadRequest && strings.Contains(msg, "must be before"):
		return kinded(fmt.Errorf("%s: GitLab refused the expiry date %s: this instance lets tokens expire at most "+
			"as far ahead as its message says: lower credentials[].lifetime below that limit: %w", c.what, c.expiry, err), ErrLifetimeLimit)
	case s == http.StatusNotFound && holderMissing(apiErr):
		return kinded(fmt.Errorf("%s: %s: %w", c.what, c.notFound, err), providers.ErrNotFound)
	case s == http.StatusNotFound && p.tokenGone(apiErr):
		return kinded(fmt.Errorf("%s: GitLab has no such token: %w", c.what, err), providers.ErrNotFound)
	case s == http.StatusNotFound:
		return kinded(fmt.Errorf("%s: %s: %w", c.what, p.routeNotFound(c.holder), err), providers.ErrNotFound, ErrRouteNotFound)
	case s == http.StatusTooManyRequests:
		wait := ""
		if apiErr.retryAfter != "" {
			wait = fmt.Sprintf(" and asks to wait %s s (Retry-After)", apiErr.retryAfter)
		}
		return fmt.Errorf("%s: GitLab is rate-limiting the rotator (429)%s: the next run tries again; if it persists, "+
			"ask the GitLab admins about the API rate limits of the admin token's user: %w", c.what, wait, err)
	case s >= 300 && s < 400:
		return fmt.Errorf("%s: GitLab at %s redirects to %q: set that address as gitlab.url: %w", c.what, p.url, apiErr.Location, err)
	case s >= 500:
		return fmt.Errorf("%s: GitLab at %s failed (%d): check GitLab's health; the next run tries again: %w", c.what, p.url, s, err)
	}
	return fmt.Errorf("%s: %w", c.what, err)
}

// invalidAdminToken explains the API guard's 401 invalid_token: GitLab knows the token and
// says why it no longer works.
func (p *Provider) invalidAdminToken(c call, apiErr *APIError, err error) error {
	desc := strings.ToLower(apiErr.Message)
	switch {
	case strings.Contains(desc, "expired"):
		return kinded(fmt.Errorf("%s: the admin token has expired (GitLab at %s): create a new personal access token with the api "+
			"scope and put it where gitlab.tokenFrom points; GitLab e-mails its user 7 days before an expiry: %w", c.what, p.url, err),
			providers.ErrAuth, ErrAdminTokenExpired)
	case strings.Contains(desc, "revoked"):
		return kinded(fmt.Errorf("%s: the admin token was revoked (GitLab at %s): create a new personal access token with the api "+
			"scope and put it where gitlab.tokenFrom points: %w", c.what, p.url, err), providers.ErrAuth, ErrAdminTokenRevoked)
	}
	return kinded(fmt.Errorf("%s: GitLab at %s does not accept the admin token: check gitlab.tokenFrom: %w", c.what, p.url, err), providers.ErrAuth)
}

// holderMissing: GitLab's not_found! for the project or group itself ("404 Project Not
// Found", "404 Group Not Found"), also what a private one the user may not see answers.
func holderMissing(apiErr *APIError) bool {
	return apiErr.shape == shapeMessage &&
		(apiErr.Message == "404 Project Not Found" || apiErr.Message == "404 Group Not Found")
}

// tokenGone says whether a 404 is GitLab's answer for the token itself: "404 Not found" (a deploy
// token: ActiveRecord::RecordNotFound) or "404 project Access Token Not Found" (or group). Any
// other 404 is not: a missing project or group may hide a token that still exists, and a 404
// from no route matching (a proxy decoding %2F, answering {"error":"404 Not Found"} or an HTML
// page) says nothing about the token; taking it for "gone" would leak the token.
func (p *Provider) tokenGone(apiErr *APIError) bool {
	if apiErr == nil || apiErr.Status != http.StatusNotFound || apiErr.shape != shapeMessage {
		return false
	}
	if p.kind == DeployToken {
		return apiErr.Message == "404 Not found"
	}
	return strings.EqualFold(apiErr.Message, "404 "+p.holderKind()+" Access Token Not Found")
}

// routeNotFound explains a 404 that names nothing: no GitLab route matched the path.
func (p *Provider) routeNotFound(holder string) string {
	if strings.Contains(holder, "/") {
		return fmt.Sprintf("GitLab's answer names neither the token nor the %[1]s: no GitLab API route matched the path, which is what "+
			"happens when a reverse proxy in front of GitLab decodes the %%2F in the %[1]s path %[2]q into '/': let the proxy pass "+
			"the path unchanged (nginx: proxy_pass without a URI part; Apache: AllowEncodedSlashes NoDecode and proxy nocanon), or set "+
			"gitlab.%[1]s to the %[1]s's numeric id; check also that gitlab.url (%[3]s) is GitLab's address", p.holderKind(), holder, p.url)
	}
	return fmt.Sprintf("GitLab's answer names neither the token nor the %s: no GitLab API route matched the path: check that "+
		"gitlab.url (%s) is GitLab's address (with its relative URL root, if any) and that no proxy rewrites the path", p.holderKind(), p.url)
}
