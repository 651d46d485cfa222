package harbor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/robot"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/providers"
)

// Robot levels and the one permission the rotator grants.
const (
	levelProject = "project"
	levelSystem  = "system"

	permKindProject  = "project"
	resourceRepo     = "repository"
	actionPull       = "pull"
	neverExpiresDays = -1
)

// Issue creates a new pull-only robot for spec: a project robot when spec has one project, a
// system robot holding one pull permission per project when it has several. Each project is
// looked up first, so an unknown one fails with providers.ErrNotFound naming it. Issue never
// refreshes an existing robot's secret, and never retries a create that may have reached Harbor.
func (p *Provider) Issue(ctx context.Context, spec providers.Spec) (providers.Credential, error) {
	projects, err := checkSpec(spec)
	if err != nil {
		return providers.Credential{}, err
	}
	for _, name := range projects {
		if _, err := p.project(ctx, name); err != nil {
			return providers.Credential{}, err
		}
	}

	given, err := p.givenName(spec)
	if err != nil {
		return providers.Credential{}, err
	}
	body := robotRequest(given, spec.Description, spec.Lifetime, projects)
	c := createCall(body, projects)
	var created *models.RobotCreated
	err = p.do(ctx, "CreateRobot", notIdempotent, func(ctx context.Context) error {
		resp, err := p.robots.CreateRobot(ctx, robot.NewCreateRobotParams().WithRobot(body))
		if err != nil {
			return err
		}
		created = resp.Payload
		return nil
	})
	if err != nil {
		err = p.explain(ctx, c, err)
		var apiErr *APIError
		rejected := errors.As(err, &apiErr) && apiErr.Status < 500
		if !rejected && !errors.Is(err, syscall.ECONNREFUSED) {
			// No answer, or a server error that may come after the insert: the robot may exist.
			// This is why a create is not retried.
			err = fmt.Errorf("%w (Harbor may have created robot %q anyway: List reports it by its prefix)", err, body.Name)
		}
		return providers.Credential{}, err
	}

	if err := p.checkCreated(body, projects, created); err != nil {
		if created != nil && created.ID > 0 {
			// The robot exists but cannot be used or found again: delete it rather than leak it.
			// WithoutCancel: the cleanup matters even when the caller gave up.
			cleanupCtx := context.WithoutCancel(ctx)
			if derr := p.deleteRobot(cleanupCtx, created.ID, created.Name, body.Level, projects); derr != nil {
				err = fmt.Errorf("%w; deleting it failed too: %w", err, derr)
			}
		}
		return providers.Credential{}, err
	}

	cred := providers.Credential{
		Owned: providers.Owned{
			ID:        strconv.FormatInt(created.ID, 10),
			Name:      created.Name,
			GivenName: given,
			IssuedAt:  time.Time(created.CreationTime).UTC(),
			ExpiresAt: expiresAt(created.ExpiresAt),
		},
		Username: created.Name,
		Password: created.Secret,
	}
	if cred.IssuedAt.IsZero() {
		cred.IssuedAt = p.now().UTC()
	}
	p.log.InfoContext(ctx, "created Harbor robot", "robot", cred.Name, "robot_id", cred.ID,
		"level", body.Level, "expires_at", cred.ExpiresAt)
	return cred, nil
}

// robotRequest builds the create body: repository pull on each project, nothing else.
func robotRequest(name, description string, lifetime time.Duration, projects []string) *models.RobotCreate {
	level := levelSystem
	if len(projects) == 1 {
		// Harbor allows exactly one project permission on a project robot; a project robot is
		// preferred because project admins can create it without any system role.
		level = levelProject
	}
	perms := make([]*models.RobotPermission, 0, len(projects))
	for _, project := range projects {
		perms = append(perms, &models.RobotPermission{
			Kind:      permKindProject,
			Namespace: project,
			Access:    []*models.Access{{Resource: resourceRepo, Action: actionPull}},
		})
	}
	return &models.RobotCreate{
		Name:        name,
		Description: description,
		Level:       level,
		Duration:    durationDays(lifetime),
		Permissions: perms,
	}
}

// durationDays converts a lifetime to Harbor's duration, in whole days rounded up so a robot
// never expires before the lifetime asked for; 0 means never (-1).
func durationDays(lifetime time.Duration) int64 {
	if lifetime <= 0 {
		return neverExpiresDays
	}
	const day = 24 * time.Hour
	days := int64(lifetime / day)
	if lifetime%day != 0 {
		days++
	}
	return days
}

// expiresAt converts Harbor's expires_at (Unix seconds, -1 for never) to a time, zero for never.
func expiresAt(unix int64) time.Time {
	if unix <= 0 {
		return time.Time{}
	}
	return time.Unix(unix, 0).UTC()
}

func createCall(body *models.RobotCreate, projects []string) call {
	return call{
		what: fmt.Sprintf("harbor: create %s robot %q with pull access to %s", body.Level, body.Name, quoteList(projects)),
		notFound: fmt.Sprintf("Harbor answered 404 to the robots API: check that the URL points at Harbor and that %s exist",
			quoteList(projects)),
		robots: &robotOp{action: "create", level: body.Level, projects: projects},
	}
}

// checkCreated makes sure the robot Harbor created can be used and found again: it has an id and
// a secret, and its name is Harbor's robot prefix, whatever it is, followed by the stored name
// ("<project>+<given>" or "<given>"). The prefix is learnt from it.
func (p *Provider) checkCreated(body *models.RobotCreate, projects []string, created *models.RobotCreated) error {
	what := fmt.Sprintf("harbor: create robot %q", body.Name)
	switch {
	case created == nil || created.ID <= 0:
		return fmt.Errorf("%s: Harbor answered without a robot id", what)
	case created.Secret == "":
		return fmt.Errorf("%s: Harbor answered without the robot's secret, which it never gives again", what)
	}
	stored := body.Name
	if body.Level == levelProject {
		stored = projects[0] + "+" + body.Name
	}
	prefix, ok := strings.CutSuffix(created.Name, stored)
	if !ok {
		return fmt.Errorf("%s: Harbor named it %q, which does not end with %q as Harbor's robot names do "+
			"(<robot name prefix><project>+<name>): the rotator could not recognise it again, so it deletes it; "+
			"check that the URL points at Harbor itself, not a proxy that rewrites answers", what, created.Name, stored)
	}
	p.learnPrefix(prefix)
	return nil
}
