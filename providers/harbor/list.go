package harbor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/robot"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/providers"
)

const (
	// listPageSize is Harbor's largest page size: fewest round trips.
	listPageSize = 100
	// listMaxPages stops a Harbor that keeps sending full pages: 100,000 robots for one
	// credential means something is wrong, and a partial list must not pass for a complete one.
	listMaxPages = 1000
)

// List returns the robots the rotator created for spec: project robots of its project when spec
// has one project, system robots when it has several, whose names (without Harbor's prefix and
// project) start with spec.NamePrefix. It follows Harbor's pages until the last one.
func (p *Provider) List(ctx context.Context, spec providers.Spec) ([]providers.Owned, error) {
	projects, err := checkSpec(spec)
	if err != nil {
		return nil, err
	}
	// Harbor requires ProjectID to list project robots. The fuzzy Name filter only narrows the
	// answer; the exact prefix check is done below.
	q := fmt.Sprintf("Level=%s,Name=~%s", levelSystem, spec.NamePrefix)
	if len(projects) == 1 {
		proj, err := p.project(ctx, projects[0])
		if err != nil {
			return nil, err
		}
		q = fmt.Sprintf("Level=%s,ProjectID=%d,Name=~%s", levelProject, proj.ProjectID, spec.NamePrefix)
	}

	c := call{
		what:      fmt.Sprintf("harbor: list robots of credential %q (%s)", spec.Credential, q),
		forbidden: listForbidden(projects),
		notFound:  "Harbor answered 404 to the robots API: check that the URL points at Harbor",
	}
	var owned []providers.Owned
	seen := int64(0)
	for page := int64(1); ; page++ {
		if page > listMaxPages {
			return nil, fmt.Errorf("%s: more than %d pages of robots: giving up rather than returning a partial list",
				c.what, listMaxPages)
		}
		params := robot.NewListRobotParams().WithQ(&q).WithPage(&page).WithPageSize(new(int64(listPageSize)))
		var resp *robot.ListRobotOK
		err := p.do(ctx, "ListRobot", idempotent, func(ctx context.Context) error {
			var err error
			resp, err = p.robots.ListRobot(ctx, params)
			return err
		})
		if err != nil {
			return nil, p.explain(c, err)
		}
		for _, r := range resp.Payload {
			if r != nil && p.owns(spec.NamePrefix, projects, r.Name) {
				owned = append(owned, p.ownedFrom(r))
			}
		}
		seen += int64(len(resp.Payload))
		// X-Total-Count ends the walk when Harbor sends it; a short page ends it otherwise.
		if len(resp.Payload) < listPageSize || resp.XTotalCount > 0 && seen >= resp.XTotalCount {
			return owned, nil
		}
	}
}

func (p *Provider) ownedFrom(r *models.Robot) providers.Owned {
	_, given, _ := p.splitName(r.Name)
	return providers.Owned{
		ID:        strconv.FormatInt(r.ID, 10),
		Name:      r.Name,
		GivenName: given,
		IssuedAt:  time.Time(r.CreationTime).UTC(),
		ExpiresAt: expiresAt(r.ExpiresAt),
		Disabled:  r.Disable,
	}
}

func listForbidden(projects []string) string {
	if len(projects) == 1 {
		return fmt.Sprintf("listing the robots of project %q needs the project admin role there, "+
			"or a robot account allowed to list robots in that project", projects[0])
	}
	return "listing system robots (used when a credential spans several projects) needs the Harbor system admin role, " +
		"or a robot account with the system robot list permission"
}
