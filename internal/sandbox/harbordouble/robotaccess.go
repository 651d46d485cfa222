package harbordouble

// Robot management actions: the access a caller needs on robots (Harbor's rbac ResourceRobot).
const (
	actCreate = "create"
	actList   = "list"
	actRead   = "read"
	actDelete = "delete"
)

// robotAccess decides whether who may do action on robots of level (in project proj for a
// project robot), as Harbor's robot handler does: the admin (or a system admin user) may
// always; a user with the project admin role in proj may manage proj's robots; a robot may
// from 2.12 on, when it holds robot:<action> in a system permission (system robots) or in a
// project permission covering proj (project robots). On 2.12.0–2.14.0 a system-level robot
// may not create project robots (goharbor/harbor#21406, #21922). The caller must hold s.mu.
func (s *Server) robotAccess(who principal, level string, proj *project, action string) *apiError {
	switch {
	case !who.authenticated():
		return errUnauthorized
	case who.admin:
		return nil
	case who.user != nil:
		if level == LevelProject && proj != nil && who.projectAdmin(proj.name) {
			return nil
		}
		return errForbidden
	}
	rb := who.robot
	if !s.version.robotsManageRobots() {
		return errForbidden
	}
	if level == LevelSystem {
		if rb.holds(LevelSystem, "/", "robot", action) {
			return nil
		}
		return errForbidden
	}
	if proj == nil || !rb.holds(LevelProject, proj.name, "robot", action) {
		return errForbidden
	}
	if action == actCreate && rb.Level == LevelSystem && !s.version.systemRobotCreatesProjectRobot() {
		return errForbidden // Harbor says no more than that
	}
	return nil
}

// holds reports whether the robot has resource:action in a permission of kind whose namespace
// is ns (or "*" for a project permission), with an effect other than "deny".
func (rb *robot) holds(kind, ns, resource, action string) bool {
	for _, p := range rb.Permissions {
		anyProject := kind == LevelProject && p.Namespace == "*"
		if p.Kind != kind || (p.Namespace != ns && !anyProject) {
			continue
		}
		for _, a := range p.Access {
			if a.Resource == resource && a.Action == action && a.Effect != "deny" {
				return true
			}
		}
	}
	return false
}

// withinCreator is Harbor 2.12's check that a robot creates no robot wider than itself: every
// access asked for must be one the creator holds in a permission of the same kind and
// namespace (or "*"), with the same effect compared literally, so "" and "allow" differ
// (server/v2.0/handler/robot.go).
func (rb *robot) withinCreator(perms []Permission) bool {
	for _, want := range perms {
		for _, a := range want.Access {
			if !rb.holdsLiterally(want.Kind, want.Namespace, a) {
				return false
			}
		}
	}
	return true
}

func (rb *robot) holdsLiterally(kind, ns string, want RobotAccess) bool {
	for _, p := range rb.Permissions {
		if p.Kind != kind || (p.Namespace != ns && p.Namespace != "*") {
			continue
		}
		for _, a := range p.Access {
			if a == want {
				return true
			}
		}
	}
	return false
}
