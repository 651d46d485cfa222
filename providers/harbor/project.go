package harbor

import (
	"context"
	"fmt"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// project looks a project up by name, so that an unknown project fails with a message naming it
// (Harbor's answer to a robot for a missing project is a bare 404 or 403) and List gets its id.
func (p *Provider) project(ctx context.Context, name string) (*models.Project, error) {
	c := call{
		what: fmt.Sprintf("harbor: look up project %q", name),
		forbidden: fmt.Sprintf("reading project %q needs a role in it (project admin, to create robots there) "+
			"or the Harbor system admin role", name),
		notFound: fmt.Sprintf("Harbor at %s has no project %q: create it in Harbor or fix the credential's project list in the config",
			p.url, name),
	}
	// Project names made of digits only are valid: X-Is-Resource-Name keeps Harbor from taking
	// "123" for a project id.
	params := project.NewGetProjectParams().WithProjectNameOrID(name).WithXIsResourceName(new(true))
	var got *models.Project
	err := p.do(ctx, "GetProject", idempotent, func(ctx context.Context) error {
		resp, err := p.projects.GetProject(ctx, params)
		if err != nil {
			return err
		}
		got = resp.Payload
		return nil
	})
	if err != nil {
		return nil, p.explain(ctx, c, err)
	}
	if got == nil || got.ProjectID <= 0 {
		return nil, fmt.Errorf("%s: Harbor answered without a project id", c.what)
	}
	return got, nil
}
