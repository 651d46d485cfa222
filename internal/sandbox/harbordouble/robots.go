package harbordouble

import (
	"sort"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// Robot levels and permission kinds, Harbor's LEVELSYSTEM / LEVELPROJECT.
const (
	LevelSystem  = "system"
	LevelProject = "project"
)

// Robot is a snapshot of a robot account for test assertions. It never holds the secret:
// the double keeps only a salted hash, as Harbor does.
type Robot struct {
	ID int64
	// Name is the full name clients use, e.g. "robot$proj-a+ci" (project level) or
	// "robot$ci" (system level): the robot prefix in force when the snapshot was taken, then
	// the stored name.
	Name        string
	Level       string // LevelSystem or LevelProject
	ProjectID   int64  // 0 for a system robot
	Description string
	Duration    int64 // days; -1 never expires
	Disabled    bool
	// ExpiresAt is unix seconds, creation time + Duration days, or -1.
	ExpiresAt    int64
	CreationTime time.Time
	UpdateTime   time.Time
	Permissions  []Permission
	// SecretRefreshes counts the PATCH refreshes the robot went through.
	SecretRefreshes int
}

// Permission is one scope of a robot: Kind "project" with Namespace a project name or "*"
// (all projects), or Kind "system" with Namespace "/".
type Permission struct {
	Kind, Namespace string
	Access          []RobotAccess
}

// RobotAccess is one resource/action pair of a permission, e.g. repository/pull.
type RobotAccess struct {
	Resource, Action, Effect string
}

// robot is the stored robot: the snapshot fields plus what only the server may see.
type robot struct {
	Robot
	stored string // name in Harbor's table, without the prefix: "proj-a+ci" or "ci"
	salt   string
	hash   [32]byte
}

func (rb *robot) checkSecret(secret string) bool { return secretMatches(rb.salt, rb.hash, secret) }

func (rb *robot) setSecret(secret string) {
	rb.salt = newSalt()
	rb.hash = hashSecret(rb.salt, secret)
}

// active reports whether the robot may authenticate at now: enabled and not expired. Harbor
// treats expires_at <= now as expired.
func (rb *robot) active(now time.Time) bool {
	return !rb.Disabled && (rb.ExpiresAt == -1 || rb.ExpiresAt > now.Unix())
}

// coversProject reports whether a permission of the robot names project (or all projects).
func (rb *robot) coversProject(project string) bool {
	for _, p := range rb.Permissions {
		if p.Kind == LevelProject && (p.Namespace == project || p.Namespace == "*") {
			return true
		}
	}
	return false
}

// can reports whether the robot holds resource/action on project. An access whose effect is
// "deny" never grants.
func (rb *robot) can(project, resource, action string) bool {
	for _, p := range rb.Permissions {
		if p.Kind != LevelProject || (p.Namespace != project && p.Namespace != "*") {
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

// expiresAt is Harbor's rule: creation time + duration days, or -1 for never.
func expiresAt(created time.Time, duration int64) int64 {
	if duration == -1 {
		return -1
	}
	return created.AddDate(0, 0, int(duration)).Unix()
}

func (rb *robot) snapshot(prefix string) Robot {
	out := rb.Robot
	out.Name = prefix + rb.stored
	out.Permissions = clonePermissions(rb.Permissions)
	return out
}

// toModel renders the robot as GET /robots and GET /robots/{id} do, with the robot prefix in
// force now (Harbor adds it when it reads a robot): never a secret.
func (rb *robot) toModel(prefix string) *models.Robot {
	duration := rb.Duration
	m := &models.Robot{
		ID:           rb.ID,
		Name:         prefix + rb.stored,
		Description:  rb.Description,
		Level:        rb.Level,
		Duration:     &duration,
		Disable:      rb.Disabled,
		Editable:     true,
		ExpiresAt:    rb.ExpiresAt,
		CreatorType:  "local",
		CreatorRef:   1,
		CreationTime: strfmt.DateTime(rb.CreationTime),
		UpdateTime:   strfmt.DateTime(rb.UpdateTime),
		Permissions:  []*models.RobotPermission{},
	}
	for _, p := range rb.Permissions {
		mp := &models.RobotPermission{Kind: p.Kind, Namespace: p.Namespace, Access: []*models.Access{}}
		for _, a := range p.Access {
			mp.Access = append(mp.Access, &models.Access{Resource: a.Resource, Action: a.Action, Effect: a.Effect})
		}
		m.Permissions = append(m.Permissions, mp)
	}
	return m
}

func permissionsFromModel(in []*models.RobotPermission) []Permission {
	out := make([]Permission, 0, len(in))
	for _, p := range in {
		perm := Permission{Kind: p.Kind, Namespace: p.Namespace}
		for _, a := range p.Access {
			perm.Access = append(perm.Access, RobotAccess{Resource: a.Resource, Action: a.Action, Effect: a.Effect})
		}
		out = append(out, perm)
	}
	return out
}

func clonePermissions(in []Permission) []Permission {
	out := make([]Permission, len(in))
	for i, p := range in {
		out[i] = Permission{Kind: p.Kind, Namespace: p.Namespace, Access: append([]RobotAccess(nil), p.Access...)}
	}
	return out
}

// Robots returns a snapshot of every robot, by id.
func (s *Server) Robots() []Robot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Robot, 0, len(s.robots))
	for _, rb := range s.robots {
		out = append(out, rb.snapshot(s.prefix))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// robotByStoredName finds a robot by its name without prefix. The caller must hold s.mu.
func (s *Server) robotByStoredName(stored string) *robot {
	for _, rb := range s.robots {
		if rb.stored == stored {
			return rb
		}
	}
	return nil
}
