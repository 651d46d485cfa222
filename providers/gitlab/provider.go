// Package gitlab issues and revokes pull-only GitLab registry credentials for the rotator:
// deploy tokens of a project or a group with the read_registry scope (the default), or project
// or group access tokens with read_registry and the Reporter role, the lowest that can pull.
//
// Every credential is a brand-new token. GitLab's rotate endpoint
// (POST …/access_tokens/:id/rotate) revokes the previous token at once, which would break every
// pod still pulling with it, and deploy tokens have none; so the rotator creates a second token,
// distributes it, and deletes the first one after the grace period. This package never calls
// /rotate.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/internal/endpoint"
	"github.com/rotatorhq/rotator/providers/internal/retry"
)

// TokenKind is the kind of token a Provider issues.
type TokenKind string

// The token kinds, as written in the config (gitlab.tokenKind).
const (
	DeployToken        TokenKind = "deployToken"
	ProjectAccessToken TokenKind = "projectAccessToken"
	GroupAccessToken   TokenKind = "groupAccessToken"
)

// Options configure a Provider.
type Options struct {
	// URL is GitLab's base URL, e.g. https://gitlab.example.com. A trailing /api/v4 is accepted.
	// It must not carry credentials.
	URL string
	// Token is a personal access token with the api scope whose user may manage the tokens:
	// Maintainer of the project, Owner of the group. A group or project access token (a bot
	// user) works for deploy tokens only: GitLab never lets a bot create access tokens. It is
	// sent as PRIVATE-TOKEN and never logged nor put into an error.
	Token string
	// TokenFunc, when set, replaces Token: it is asked at every request, so a token changed
	// where it is kept (Vault, a mounted Secret) is used without a restart. Its errors are
	// reported as a *TokenError, never as GitLab's or the network's.
	TokenFunc func(ctx context.Context) (string, error)
	// Kind of token to issue; empty means DeployToken.
	Kind TokenKind
	// Group says that the spec's one entry is a group (full path or numeric id); otherwise it
	// is a project. ProjectAccessToken needs a project, GroupAccessToken a group.
	Group bool
	// Username of new deploy tokens; empty lets GitLab name them gitlab+deploy-token-<n>.
	// Access tokens take no username: a registry accepts any non-empty one with them, and the
	// rotator uses the token's name.
	Username string
	// Transport carries every request. The caller builds it (CA bundle, proxy, explicit
	// insecureSkipVerify); nil means http.DefaultTransport, which verifies TLS.
	Transport http.RoundTripper
	// Now is the clock for token names and expiry dates; nil means time.Now.
	Now func() time.Time
	// Logger receives retries, creations and deletions; nil logs nothing.
	Logger *slog.Logger
}

// Provider issues and revokes pull-only tokens on one GitLab. It is safe for concurrent use.
type Provider struct {
	url      string // GitLab's base URL (redacted), for messages
	kind     TokenKind
	group    bool
	username string
	now      func() time.Time
	log      *slog.Logger
	retry    retry.Policy
	tokens   tokenAPI
	admin    adminAPI
}

var _ providers.Provider = (*Provider)(nil)

// New checks o and builds a Provider. It makes no request. All problems with o are reported at
// once.
func New(o Options) (*Provider, error) {
	var problems []error
	base, err := endpoint.Endpoint{System: "GitLab", Field: "gitlab"}.ParseBaseURL(o.URL, "/api/v4", "set tokenFrom instead")
	if err != nil {
		problems = append(problems, err)
	}
	if o.Token == "" && o.TokenFunc == nil {
		problems = append(problems, errors.New("gitlab: the admin token is required"))
	}
	if o.Kind == "" {
		o.Kind = DeployToken
	}
	switch {
	case o.Kind != DeployToken && o.Kind != ProjectAccessToken && o.Kind != GroupAccessToken:
		problems = append(problems, fmt.Errorf("gitlab: token kind %q: want %s, %s or %s", o.Kind, DeployToken, ProjectAccessToken, GroupAccessToken))
	case o.Kind == ProjectAccessToken && o.Group:
		problems = append(problems, errors.New("gitlab: a project access token needs a project, not a group"))
	case o.Kind == GroupAccessToken && !o.Group:
		problems = append(problems, errors.New("gitlab: a group access token needs a group, not a project"))
	case o.Username != "" && o.Kind != DeployToken:
		problems = append(problems, errors.New("gitlab: a username is only for deploy tokens; access tokens log in with any name"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The client's own retries are off: they retry a POST after a 5xx, which may create a second
	// token. do() retries what is safe to retry.
	tokenFunc := o.TokenFunc
	if tokenFunc == nil {
		tokenFunc = func(context.Context) (string, error) { return o.Token, nil }
	}
	client, err := gl.NewAuthSourceClient(tokenAuth{token: tokenFunc},
		gl.WithURLWarningLogger(logger),
		gl.WithBaseURL(base.String()),
		gl.WithHTTPClient(&http.Client{Transport: statusTransport{next: transport}}),
		gl.WithoutRetries(),
		gl.WithUserAgent("rotator"),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab: build the API client for %s: %w", base.Redacted(), err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		// Not refused: a lab GitLab may be http only. But the admin token crosses the network
		// in clear text with every call, which someone reading the logs should know.
		logger.Warn("GitLab URL is plain http: the admin token is sent unencrypted", "provider", "gitlab", "url", base.Redacted())
	}
	p := &Provider{
		url: base.Redacted(), kind: o.Kind, group: o.Group, username: o.Username,
		now: now, log: logger.With("provider", "gitlab"), retry: retry.Default(),
		admin: glAdminAPI{pats: client.PersonalAccessTokens, users: client.Users},
	}
	switch o.Kind {
	case DeployToken:
		p.tokens = deployTokens{api: client.DeployTokens, group: o.Group}
	case ProjectAccessToken:
		p.tokens = projectAccessTokens{api: client.ProjectAccessTokens}
	case GroupAccessToken:
		p.tokens = groupAccessTokens{api: client.GroupAccessTokens}
	}
	return p, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// holderKind names what holds the tokens, for messages.
func (p *Provider) holderKind() string {
	if p.group {
		return "group"
	}
	return "project"
}

// kindName names the token kind, for messages.
func (p *Provider) kindName() string {
	switch p.kind {
	case ProjectAccessToken:
		return "project access token"
	case GroupAccessToken:
		return "group access token"
	}
	return p.holderKind() + " deploy token"
}

// neededRole is the role the admin token's user needs to manage the tokens.
func (p *Provider) neededRole(holder string) string {
	role := "Maintainer or Owner"
	if p.group {
		role = "Owner"
	}
	what := "deploy tokens"
	if p.kind != DeployToken {
		what = "access tokens"
	}
	return fmt.Sprintf("managing %s needs the %s role in %s %q for the admin token's user", what, role, p.holderKind(), holder)
}

// notFound explains a 404 on the holder's token endpoints.
func (p *Provider) notFound(holder string) string {
	return fmt.Sprintf("GitLab has no %s %q that the admin token's user can see (GitLab answers 404 for private ones it may not see): "+
		"check gitlab.%s (a full path such as group/subgroup, or a numeric id) and that the user is a member",
		p.holderKind(), holder, p.holderKind())
}
