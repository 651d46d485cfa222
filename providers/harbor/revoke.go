package harbor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-openapi/runtime"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/robot"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/providers"
)

// Revoke deletes the robot with this id (decimal, as in Credential.ID). A robot already gone is
// not an error. Revoke first reads the robot and refuses, with ErrNotOwned, to delete one whose
// name does not carry spec.NamePrefix (in one of spec's projects, for a project robot): the
// rotator never touches robots it did not create.
func (p *Provider) Revoke(ctx context.Context, spec providers.Spec, id string) error {
	projects, err := checkSpec(spec)
	if err != nil {
		return err
	}
	rid, err := strconv.ParseInt(id, 10, 64)
	if err != nil || rid <= 0 {
		return fmt.Errorf("harbor: revoke robot %q: not a Harbor robot id (a positive integer)", id)
	}

	r, err := p.getRobot(ctx, rid, projects)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := p.ownedGiven(spec.NamePrefix, projects, r); !ok {
		return fmt.Errorf("harbor: refusing to delete %s robot %d %q: credential %q owns only system robots and "+
			"project robots of %s whose given names (after Harbor's robot name prefix and project) are %q followed "+
			"by a generated suffix: %w",
			r.Level, rid, r.Name, spec.Credential, quoteList(projects), spec.NamePrefix, ErrNotOwned)
	}
	return p.deleteRobot(ctx, rid, r.Name, r.Level, projects)
}

func (p *Provider) getRobot(ctx context.Context, id int64, projects []string) (*models.Robot, error) {
	c := call{
		what:     fmt.Sprintf("harbor: read robot %d", id),
		notFound: "it does not exist",
		robots:   &robotOp{action: "read", projects: projects},
	}
	var got *models.Robot
	err := p.do(ctx, "GetRobotByID", idempotent, func(ctx context.Context) error {
		resp, err := p.robots.GetRobotByID(ctx, robot.NewGetRobotByIDParams().WithRobotID(id))
		if err != nil {
			return err
		}
		got = resp.Payload
		return nil
	})
	if err != nil {
		return nil, p.explain(ctx, c, err)
	}
	if got == nil {
		return nil, fmt.Errorf("%s: Harbor answered without the robot", c.what)
	}
	return got, nil
}

// deleteRobot deletes a robot; one already gone is not an error.
func (p *Provider) deleteRobot(ctx context.Context, id int64, name, level string, projects []string) error {
	c := call{
		what:     fmt.Sprintf("harbor: delete robot %d %q", id, name),
		notFound: "it does not exist",
		robots:   &robotOp{action: "delete", level: level, projects: projects},
	}
	err := p.do(ctx, "DeleteRobot", idempotent, func(ctx context.Context) error {
		_, err := p.robots.DeleteRobot(ctx, robot.NewDeleteRobotParams().WithRobotID(id))
		return err
	})
	if isStatus(err, http.StatusNotFound) || isOtherSuccess(err) {
		err = nil
	}
	if err != nil {
		return p.explain(ctx, c, err)
	}
	p.log.InfoContext(ctx, "deleted Harbor robot", "robot", name, "robot_id", id)
	return nil
}

// isStatus says whether err is Harbor's answer with this status.
func isStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// isOtherSuccess says whether go-client rejected a 2xx answer only because the swagger lists
// another 2xx for the call (e.g. a 204 where the swagger says 200 for a delete).
func isOtherSuccess(err error) bool {
	var apiErr *runtime.APIError
	return errors.As(err, &apiErr) && apiErr.Code >= 200 && apiErr.Code < 300
}
