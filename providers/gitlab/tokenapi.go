package gitlab

import (
	"context"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// token is what the rotator reads of a deploy token or an access token.
type token struct {
	id       int64
	name     string
	username string // deploy tokens only: what a registry login must use
	value    string // only in a create answer
	scopes   []string
	// expiresAt is when the token stops working (zero: never). An access token's expiry is a
	// date, at 00:00 UTC.
	expiresAt time.Time
	createdAt time.Time // zero for deploy tokens: GitLab does not report it
	revoked   bool
}

// createRequest is what a new token asks for: read_registry, and for access tokens the access
// level that can pull.
type createRequest struct {
	name, description, username string
	expires                     time.Time // 00:00 UTC of the expiry date
}

// tokenAPI is the four calls the provider makes on one kind of token held by a project or
// group (holder: numeric id or full path; the client URL-encodes it).
type tokenAPI interface {
	create(ctx context.Context, holder string, req createRequest) (token, error)
	// list returns one page and the number of the next one (0 after the last).
	list(ctx context.Context, holder string, page int64) ([]token, int64, error)
	get(ctx context.Context, holder string, id int64) (token, error)
	delete(ctx context.Context, holder string, id int64) error
}

// readRegistry is the pull scope of deploy and access tokens.
const readRegistry = "read_registry"

// pullAccessLevel is the lowest role that may pull from a private project's container
// registry (read_container_image): Reporter.
const pullAccessLevel = gl.ReporterPermissions

// listPageSize is GitLab's largest page: fewest round trips.
const listPageSize = 100

func nextPage(resp *gl.Response) int64 {
	if resp == nil {
		return 0
	}
	return resp.NextPage
}

// deployTokens are the deploy tokens of projects (group false) or groups.
type deployTokens struct {
	api   gl.DeployTokensServiceInterface
	group bool
}

func (d deployTokens) create(ctx context.Context, holder string, req createRequest) (token, error) {
	var (
		t   *gl.DeployToken
		err error
	)
	opts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
	var username *string
	if req.username != "" {
		username = &req.username
	}
	if d.group {
		t, _, err = d.api.CreateGroupDeployToken(holder, &gl.CreateGroupDeployTokenOptions{
			Name: &req.name, Scopes: &[]string{readRegistry}, ExpiresAt: &req.expires, Username: username,
		}, opts...)
	} else {
		t, _, err = d.api.CreateProjectDeployToken(holder, &gl.CreateProjectDeployTokenOptions{
			Name: &req.name, Scopes: &[]string{readRegistry}, ExpiresAt: &req.expires, Username: username,
		}, opts...)
	}
	if err != nil || t == nil {
		return token{}, err
	}
	return fromDeployToken(t), nil
}

func (d deployTokens) list(ctx context.Context, holder string, page int64) ([]token, int64, error) {
	var (
		ts   []*gl.DeployToken
		resp *gl.Response
		err  error
	)
	lo := gl.ListOptions{Page: page, PerPage: listPageSize}
	if d.group {
		ts, resp, err = d.api.ListGroupDeployTokens(holder, &gl.ListGroupDeployTokensOptions{ListOptions: lo}, gl.WithContext(ctx))
	} else {
		ts, resp, err = d.api.ListProjectDeployTokens(holder, &gl.ListProjectDeployTokensOptions{ListOptions: lo}, gl.WithContext(ctx))
	}
	if err != nil {
		return nil, 0, err
	}
	out := make([]token, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			out = append(out, fromDeployToken(t))
		}
	}
	return out, nextPage(resp), nil
}

func (d deployTokens) get(ctx context.Context, holder string, id int64) (token, error) {
	var (
		t   *gl.DeployToken
		err error
	)
	if d.group {
		t, _, err = d.api.GetGroupDeployToken(holder, id, gl.WithContext(ctx))
	} else {
		t, _, err = d.api.GetProjectDeployToken(holder, id, gl.WithContext(ctx))
	}
	if err != nil || t == nil {
		return token{}, err
	}
	return fromDeployToken(t), nil
}

func (d deployTokens) delete(ctx context.Context, holder string, id int64) error {
	var err error
	if d.group {
		_, err = d.api.DeleteGroupDeployToken(holder, id, gl.WithContext(ctx))
	} else {
		_, err = d.api.DeleteProjectDeployToken(holder, id, gl.WithContext(ctx))
	}
	return err
}

func fromDeployToken(t *gl.DeployToken) token {
	out := token{id: t.ID, name: t.Name, username: t.Username, value: t.Token, scopes: t.Scopes, revoked: t.Revoked}
	if t.ExpiresAt != nil {
		out.expiresAt = t.ExpiresAt.UTC()
	}
	return out
}

// projectAccessTokens are the access tokens of projects.
type projectAccessTokens struct {
	api gl.ProjectAccessTokensServiceInterface
}

func (p projectAccessTokens) create(ctx context.Context, holder string, req createRequest) (token, error) {
	t, _, err := p.api.CreateProjectAccessToken(holder, &gl.CreateProjectAccessTokenOptions{
		Name: &req.name, Description: &req.description, Scopes: &[]string{readRegistry},
		AccessLevel: gl.Ptr(pullAccessLevel), ExpiresAt: gl.Ptr(gl.ISOTime(req.expires)),
	}, gl.WithContext(ctx))
	if err != nil || t == nil {
		return token{}, err
	}
	return fromAccessToken(t.PersonalAccessToken), nil
}

func (p projectAccessTokens) list(ctx context.Context, holder string, page int64) ([]token, int64, error) {
	ts, resp, err := p.api.ListProjectAccessTokens(holder, &gl.ListProjectAccessTokensOptions{
		ListOptions: gl.ListOptions{Page: page, PerPage: listPageSize},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, 0, err
	}
	out := make([]token, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			out = append(out, fromAccessToken(t.PersonalAccessToken))
		}
	}
	return out, nextPage(resp), nil
}

func (p projectAccessTokens) get(ctx context.Context, holder string, id int64) (token, error) {
	t, _, err := p.api.GetProjectAccessToken(holder, id, gl.WithContext(ctx))
	if err != nil || t == nil {
		return token{}, err
	}
	return fromAccessToken(t.PersonalAccessToken), nil
}

func (p projectAccessTokens) delete(ctx context.Context, holder string, id int64) error {
	_, err := p.api.RevokeProjectAccessToken(holder, id, gl.WithContext(ctx))
	return err
}

// groupAccessTokens are the access tokens of groups.
type groupAccessTokens struct {
	api gl.GroupAccessTokensServiceInterface
}

func (g groupAccessTokens) create(ctx context.Context, holder string, req createRequest) (token, error) {
	t, _, err := g.api.CreateGroupAccessToken(holder, &gl.CreateGroupAccessTokenOptions{
		Name: &req.name, Description: &req.description, Scopes: &[]string{readRegistry},
		AccessLevel: gl.Ptr(pullAccessLevel), ExpiresAt: gl.Ptr(gl.ISOTime(req.expires)),
	}, gl.WithContext(ctx))
	if err != nil || t == nil {
		return token{}, err
	}
	return fromAccessToken(t.PersonalAccessToken), nil
}

func (g groupAccessTokens) list(ctx context.Context, holder string, page int64) ([]token, int64, error) {
	ts, resp, err := g.api.ListGroupAccessTokens(holder, &gl.ListGroupAccessTokensOptions{
		ListOptions: gl.ListOptions{Page: page, PerPage: listPageSize},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, 0, err
	}
	out := make([]token, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			out = append(out, fromAccessToken(t.PersonalAccessToken))
		}
	}
	return out, nextPage(resp), nil
}

func (g groupAccessTokens) get(ctx context.Context, holder string, id int64) (token, error) {
	t, _, err := g.api.GetGroupAccessToken(holder, id, gl.WithContext(ctx))
	if err != nil || t == nil {
		return token{}, err
	}
	return fromAccessToken(t.PersonalAccessToken), nil
}

func (g groupAccessTokens) delete(ctx context.Context, holder string, id int64) error {
	_, err := g.api.RevokeGroupAccessToken(holder, id, gl.WithContext(ctx))
	return err
}

func fromAccessToken(t gl.PersonalAccessToken) token {
	out := token{id: t.ID, name: t.Name, value: t.Token, scopes: t.Scopes, revoked: t.Revoked}
	if t.ExpiresAt != nil {
		d := time.Time(*t.ExpiresAt)
		// An access token expires at 00:00 UTC of its date.
		out.expiresAt = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	if t.CreatedAt != nil {
		out.createdAt = t.CreatedAt.UTC()
	}
	return out
}
