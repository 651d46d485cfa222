package harbordouble

import (
	"context"
	"errors"
	"net/url"
	"testing"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/ping"
	projectapi "github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	robotapi "github.com/goharbor/go-client/pkg/sdk/v2.0/client/robot"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// The double speaks what goharbor/go-client, the rotator's Harbor SDK, expects: each call the
// rotator makes decodes into the client's types.
func TestGoClientRoundTrip(t *testing.T) {
	f := newFixture(t)
	u, _ := url.Parse(f.srv.URL + "/api/v2.0")
	c := client.New(client.Config{URL: u, AuthInfo: httptransport.BasicAuth(adminUser, adminPass)})
	ctx := context.Background()

	pong, err := c.Ping.GetPing(ctx, ping.NewGetPingParams())
	if err != nil || pong.Payload != "Pong" {
		t.Fatalf("ping: %v %+v", err, pong)
	}
	yes := true
	proj, err := c.Project.GetProject(ctx, projectapi.NewGetProjectParams().WithProjectNameOrID("proj-b").WithXIsResourceName(&yes))
	if err != nil || proj.Payload.ProjectID != 2 {
		t.Fatalf("get project: %v", err)
	}

	created, err := c.Robot.CreateRobot(ctx, robotapi.NewCreateRobotParams().WithRobot(&models.RobotCreate{
		Name: "ci", Level: "project", Duration: 30,
		Permissions: []*models.RobotPermission{{Kind: "project", Namespace: "proj-b",
			Access: []*models.Access{{Resource: "repository", Action: "pull"}}}},
	}))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Location != "/api/v2.0/robots/1" || created.Payload.Name != "robot$proj-b+ci" || created.Payload.Secret == "" {
		t.Fatalf("created: %+v %+v", created, created.Payload)
	}

	q := "Level=project,ProjectID=2"
	list, err := c.Robot.ListRobot(ctx, robotapi.NewListRobotParams().WithQ(&q))
	if err != nil || list.XTotalCount != 1 || len(list.Payload) != 1 || list.Payload[0].Secret != "" {
		t.Fatalf("list: %v %+v", err, list)
	}
	got, err := c.Robot.GetRobotByID(ctx, robotapi.NewGetRobotByIDParams().WithRobotID(1))
	if err != nil || got.Payload.Name != created.Payload.Name || *got.Payload.Duration != 30 {
		t.Fatalf("get: %v", err)
	}

	sec, err := c.Robot.RefreshSec(ctx, robotapi.NewRefreshSecParams().WithRobotID(1).WithRobotSec(&models.RobotSec{}))
	if err != nil || sec.Payload.Secret == "" || sec.Payload.Secret == created.Payload.Secret {
		t.Fatalf("refresh: %v", err)
	}

	update := got.Payload
	update.Description = "rotated"
	if _, err := c.Robot.UpdateRobot(ctx, robotapi.NewUpdateRobotParams().WithRobotID(1).WithRobot(update)); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := c.Robot.DeleteRobot(ctx, robotapi.NewDeleteRobotParams().WithRobotID(1)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.Robot.GetRobotByID(ctx, robotapi.NewGetRobotByIDParams().WithRobotID(1))
	var nf *robotapi.GetRobotByIDNotFound
	if !errors.As(err, &nf) || nf.Payload.Errors[0].Code != "NOT_FOUND" {
		t.Fatalf("get after delete: %v", err)
	}
}
