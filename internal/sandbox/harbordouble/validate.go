package harbordouble

import (
	"math"
	"regexp"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// namePattern is Harbor's rule for robot names (handler/robot.go validateName) and project
// names alike. It keeps '+' and '$' out of names: Harbor uses them in the full robot name.
var namePattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func validateName(name string) *apiError {
	if !namePattern.MatchString(name) {
		return errBadRequest("robot name is not in lower case or contains illegal characters")
	}
	return nil
}

// validateRobot is Harbor's robotAPI.validate, shared by create and update: the duration, the
// level, a non-empty permission list each with a non-empty access list, a single permission for
// a project robot, and every access among the policies Harbor knows for the permission's kind
// (robotPerms: the robot resource, known from Harbor 2.12 on).
func validateRobot(duration int64, level string, perms []*models.RobotPermission, robotPerms bool) *apiError {
	if duration != -1 && (duration <= 0 || duration >= math.MaxInt32) {
		return errBadRequest("bad request error duration input: %d, duration must be either -1(Never) or a positive integer", duration)
	}
	if level != LevelSystem && level != LevelProject {
		return errBadRequest("bad request error level input: %s", level)
	}
	if len(perms) == 0 {
		return errBadRequest("bad request empty permission")
	}
	for _, p := range perms {
		if p == nil {
			return errBadRequest("bad request empty permission")
		}
		if len(p.Access) == 0 {
			return errBadRequest("bad request empty access")
		}
		for _, a := range p.Access {
			if a == nil {
				return errBadRequest("bad request empty access")
			}
		}
	}
	// A project robot holds exactly one project's permission.
	if level == LevelProject && len(perms) > 1 {
		return errBadRequest("bad request permission")
	}
	for _, p := range perms {
		var known map[string]bool
		switch p.Kind {
		case LevelSystem:
			known = systemPolicies
		case LevelProject:
			known = projectPolicies
		default:
			return errBadRequest("bad request permission level: %s", p.Kind)
		}
		for _, a := range p.Access {
			robotAccess := robotPerms && robotPolicies[a.Resource+":"+a.Action]
			if !known[a.Resource+":"+a.Action] && !robotAccess {
				return errBadRequest("bad request permission: %s:%s", a.Resource, a.Action)
			}
		}
	}
	return nil
}

// checkNamespaces is what Harbor's controller does when it stores permissions (toScope): a
// system permission's namespace must be "/", a project permission's "*" or an existing project.
func (s *Server) checkNamespaces(perms []*models.RobotPermission) *apiError {
	for _, p := range perms {
		switch {
		case p.Kind == LevelSystem && p.Namespace != "/":
			return errBadRequest("unknown namespace")
		case p.Kind == LevelProject && p.Namespace != "*" && s.projectByName(p.Namespace) == nil:
			return errNotFound("project %s not found", p.Namespace)
		}
	}
	return nil
}

// Harbor's PoliciesMap (src/common/rbac/const.go): the resource:action pairs a robot may hold.
var systemPolicies = policySet(
	"audit-log:list",
	"preheat-instance:read", "preheat-instance:create", "preheat-instance:delete", "preheat-instance:list", "preheat-instance:update",
	"project:list", "project:create",
	"replication-policy:read", "replication-policy:create", "replication-policy:delete", "replication-policy:list", "replication-policy:update",
	"replication:read", "replication:create", "replication:list",
	"replication-adapter:list",
	"registry:read", "registry:create", "registry:delete", "registry:list", "registry:update",
	"scan-all:read", "scan-all:update", "scan-all:stop", "scan-all:create",
	"system-volumes:read",
	"garbage-collection:read", "garbage-collection:create", "garbage-collection:list", "garbage-collection:update", "garbage-collection:stop",
	"purge-audit:read", "purge-audit:create", "purge-audit:list", "purge-audit:update", "purge-audit:stop",
	"jobservice-monitor:list", "jobservice-monitor:stop",
	"scanner:read", "scanner:create", "scanner:delete", "scanner:list", "scanner:update",
	"label:read", "label:create", "label:delete", "label:update",
	"security-hub:read", "security-hub:list",
	"catalog:read",
	"quota:read", "quota:list",
)

var projectPolicies = policySet(
	"log:list",
	"project:read", "project:delete", "project:update",
	"metadata:read", "metadata:create", "metadata:delete", "metadata:list", "metadata:update",
	"repository:read", "repository:update", "repository:delete", "repository:list", "repository:pull", "repository:push",
	"artifact:read", "artifact:create", "artifact:list", "artifact:delete",
	"scan:create", "scan:read", "scan:stop",
	"sbom:create", "sbom:stop", "sbom:read",
	"tag:create", "tag:list", "tag:delete",
	"accessory:list",
	"artifact-addition:read",
	"artifact-label:create", "artifact-label:delete",
	"scanner:create", "scanner:read",
	"preheat-policy:read", "preheat-policy:create", "preheat-policy:delete", "preheat-policy:list", "preheat-policy:update",
	"immutable-tag:create", "immutable-tag:delete", "immutable-tag:list", "immutable-tag:update",
	"notification-policy:read", "notification-policy:create", "notification-policy:delete", "notification-policy:list", "notification-policy:update",
	"tag-retention:read", "tag-retention:create", "tag-retention:delete", "tag-retention:list", "tag-retention:update",
	"label:read", "label:create", "label:delete", "label:list", "label:update",
	"quota:read",
)

// robotPolicies are the robot resource's actions, in both kinds' policy maps since Harbor 2.12.
var robotPolicies = policySet("robot:create", "robot:read", "robot:update", "robot:delete", "robot:list")

func policySet(pairs ...string) map[string]bool {
	m := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		m[p] = true
	}
	return m
}
