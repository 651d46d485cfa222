package harbor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
	// Harbor requires ProjectID to list project robots. The fuzzy Name filter (a substring of
	// the stored name, without Harbor's robot prefix) only narrows the answer; the exact check,
	// level included, is done below.
	q := fmt.Sprintf("Level=%s,Name=~%s", levelSystem, qValue(spec.NamePrefix))
	if len(projects) == 1 {
		proj, err := p.project(ctx, projects[0])
		if err != nil {
			return nil, err
		}
		q = fmt.Sprintf("Level=%s,ProjectID=%d,Name=~%s", levelProject, proj.ProjectID, qValue(spec.NamePrefix))
	}

	level := levelSystem
	if len(projects) == 1 {
		level = levelProject
	}
	c := call{
		what:     fmt.Sprintf("harbor: list robots of credential %q (%s)", spec.Credential, q),
		notFound: "Harbor answered 404 to the robots API: check that the URL points at Harbor",
		robots:   &robotOp{action: "list", level: level, projects: projects},
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
			return nil, p.explain(ctx, c, err)
		}
		for _, r := range resp.Payload {
			if r == nil || r.Level != level {
				continue // before 2.13, Level=system lists project robots too (goharbor/harbor#21118)
			}
			if given, ok := p.ownedGiven(spec.NamePrefix, projects, r); ok {
				owned = append(owned, ownedFrom(r, given))
			}
		}
		seen += int64(len(resp.Payload))
		// X-Total-Count ends the walk when Harbor sends it; a short page ends it otherwise.
		if len(resp.Payload) < listPageSize || resp.XTotalCount > 0 && seen >= resp.XTotalCount {
			return owned, nil
		}
	}
}

// ownedFrom reports r with its current full name: after a change of Harbor's robot prefix it
// differs from the name the credential was issued with, which tells the rotation core that the
// distributed username no longer works.
func ownedFrom(r *models.Robot, given string) providers.Owned {
	return providers.Owned{
		ID:        strconv.FormatInt(r.ID, 10),
		Name:      r.Name,
		GivenName: given,
		IssuedAt:  time.Time(r.CreationTime).UTC(),
		ExpiresAt: expiresAt(r.ExpiresAt),
		Disabled:  r.Disable,
	}
}

// qValue escapes a value of Harbor's q parameter. Harbor URL-decodes q once more after the HTTP
// layer did, so a literal '+' (a space after that decoding) must reach it as %2B, i.e. go out
// as %252B; go-client escapes the '%' itself. (Today's name prefixes cannot hold a '+'.)
func qValue(v string) string { return strings.ReplaceAll(v, "+", "%2B") }
