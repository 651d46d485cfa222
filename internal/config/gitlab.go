package config

import (
	"errors"
	"net/url"
	"regexp"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// GitLab provider settings: which tokens the rotator issues, where, and with which admin token.
type GitLab struct {
	// URL of GitLab, e.g. https://gitlab.example.com (not the registry's host).
	URL string `json:"url"`
	// TokenFrom is where the admin token is read: a personal (or group/project access) token
	// with the api scope whose user is Maintainer of the project or Owner of the group.
	TokenFrom SecretRef `json:"tokenFrom"`
	// Project or Group holds the issued tokens and is what they may pull from: a full path
	// (group/subgroup/project) or a numeric id. Exactly one is set. A group's tokens pull from
	// every project below it.
	Project string `json:"project,omitempty"`
	Group   string `json:"group,omitempty"`
	// TokenKind is deployToken (default), projectAccessToken (needs project) or
	// groupAccessToken (needs group). Access tokens get read_registry and the Reporter role.
	TokenKind string `json:"tokenKind,omitempty"`
	// Username of new deploy tokens; empty lets GitLab name them gitlab+deploy-token-<n>.
	Username string `json:"username,omitempty"`
	// TokenNamePrefix starts every token name the rotator creates; it only ever deletes tokens
	// with it. Default "rotator-<credential name>-".
	TokenNamePrefix string `json:"tokenNamePrefix,omitempty"`
	// TLS: CAFile is a PEM bundle trusted in addition to the system's (for GitLab's API and its
	// registry); InsecureSkipVerify turns verification off and must be said explicitly.
	CAFile             string `json:"caFile,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// GitLab token kinds (gitlab.tokenKind).
const (
	GitLabDeployToken        = "deployToken"
	GitLabProjectAccessToken = "projectAccessToken"
	GitLabGroupAccessToken   = "groupAccessToken"
)

// gitlabMaxLifetime is GitLab's limit on a token's expiry: 365 days ahead.
const gitlabMaxLifetime = 365 * 24 * time.Hour

var errRegistryHostRequired = errors.New("registryHost is required for provider gitlab: GitLab's registry host " +
	"is often not the GitLab host (e.g. registry.gitlab.example.com)")

// Holder is the project or group the tokens belong to.
func (g *GitLab) Holder() string {
	if g.Group != "" {
		return g.Group
	}
	return g.Project
}

func defaultGitLab(cr *Credential) {
	g := cr.GitLab
	if g == nil {
		return
	}
	if g.TokenKind == "" {
		g.TokenKind = GitLabDeployToken
	}
	if g.TokenNamePrefix == "" && cr.Name != "" {
		g.TokenNamePrefix = "rotator-" + cr.Name + "-"
	}
}

var (
	// gitlabPath is a group or project full path (segments of letters, digits, '_', '-', '.')
	// or a numeric id.
	gitlabPath = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)
	// deployUsername is GitLab's rule for a deploy token's username.
	deployUsername = regexp.MustCompile(`^[a-zA-Z0-9.+_-]{1,255}$`)
	// tokenNamePrefix keeps the rotator's token names plain.
	tokenNamePrefix = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)
)

// validateGitLabCredential checks a credential of provider gitlab: its section, the registry
// host it needs, and a lifetime GitLab can express.
func validateGitLabCredential(cr *Credential, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if cr.GitLab == nil {
		errs = append(errs, field.Required(p.Child("gitlab"), "provider gitlab needs a gitlab section"))
	} else {
		errs = append(errs, validateGitLab(cr.GitLab, p.Child("gitlab"))...)
	}
	if cr.RegistryHost == "" {
		errs = append(errs, field.Required(p.Child("registryHost"), errRegistryHostRequired.Error()))
	}
	if d := cr.Lifetime; d.err == nil && (d.Duration <= 0 || d.Duration > gitlabMaxLifetime) {
		errs = append(errs, field.Invalid(p.Child("lifetime"), d.raw,
			"GitLab tokens expire at most 365 days ahead, and the rotator's always expire: use 1d to 365d"))
	}
	return errs
}

func validateGitLab(g *GitLab, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g.URL == "" {
		errs = append(errs, field.Required(p.Child("url"), "e.g. https://gitlab.example.com"))
	} else if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		errs = append(errs, field.Invalid(p.Child("url"), redactURL(g.URL), "must be an http(s) URL without credentials (the token goes in tokenFrom), such as https://gitlab.example.com"))
	}
	errs = append(errs, validateSecretRef(g.TokenFrom, p.Child("tokenFrom"))...)
	switch {
	case g.Project == "" && g.Group == "":
		errs = append(errs, field.Required(p.Child("group"), "set group or project: a full path such as group/subgroup, or a numeric id"))
	case g.Project != "" && g.Group != "":
		errs = append(errs, field.Invalid(p.Child("project"), g.Project, "set either project or group, not both"))
	}
	for _, f := range []struct{ name, v string }{{"project", g.Project}, {"group", g.Group}} {
		if f.v != "" && !gitlabPath.MatchString(f.v) {
			errs = append(errs, field.Invalid(p.Child(f.name), f.v,
				"a full path such as group/subgroup/project (no leading or trailing '/', not URL-encoded) or a numeric id"))
		}
	}
	switch g.TokenKind {
	case GitLabDeployToken:
	case GitLabProjectAccessToken:
		if g.Project == "" {
			errs = append(errs, field.Required(p.Child("project"), "tokenKind projectAccessToken needs a project"))
		}
	case GitLabGroupAccessToken:
		if g.Group == "" {
			errs = append(errs, field.Required(p.Child("group"), "tokenKind groupAccessToken needs a group"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("tokenKind"), g.TokenKind,
			[]string{GitLabDeployToken, GitLabProjectAccessToken, GitLabGroupAccessToken}))
	}
	if g.Username != "" {
		if g.TokenKind != GitLabDeployToken {
			errs = append(errs, field.Invalid(p.Child("username"), g.Username,
				"only deploy tokens have a username; access tokens log in with any name"))
		} else if !deployUsername.MatchString(g.Username) {
			errs = append(errs, field.Invalid(p.Child("username"), g.Username, "letters, digits, '_', '-', '+' and '.' only"))
		}
	}
	if g.TokenNamePrefix != "" && !tokenNamePrefix.MatchString(g.TokenNamePrefix) {
		errs = append(errs, field.Invalid(p.Child("tokenNamePrefix"), g.TokenNamePrefix,
			"letters, digits, '.', '_' and '-', starting with a letter or digit, at most 200 characters"))
	}
	if g.CAFile != "" && g.InsecureSkipVerify {
		errs = append(errs, field.Invalid(p.Child("insecureSkipVerify"), true, "set either caFile or insecureSkipVerify, not both"))
	}
	return errs
}
