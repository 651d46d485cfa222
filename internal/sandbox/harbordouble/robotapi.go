package harbordouble

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// The robot account API, /api/v2.0/robots, after Harbor's handler/robot.go. Each handler
// checks in Harbor's order: the swagger binding (422), Harbor's own rules (400), access (401 or
// 403), existence (404), uniqueness (409).

// createRobot serves POST /robots. The answer is the only place the secret ever appears.
// Harbor ignores the body's secret and disable fields on create, and so does the double.
func (s *Server) createRobot(w http.ResponseWriter, r *http.Request, _ string) {
	var body models.RobotCreate
	if e := decodeBody(r, "robot", &body); e != nil {
		writeError(w, e)
		return
	}
	if e := validateName(body.Name); e != nil {
		writeError(w, e)
		return
	}
	robotPerms := s.version.robotsManageRobots() // read once: fixed at New
	if e := validateRobot(body.Duration, body.Level, body.Permissions, robotPerms); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	who := s.authenticate(r)
	if !who.authenticated() {
		writeError(w, errUnauthorized)
		return
	}
	var projectID int64
	var proj *project
	stored := body.Name
	if body.Level == LevelProject {
		ns := body.Permissions[0].Namespace
		if proj = s.projectByName(ns); proj == nil {
			writeError(w, errNotFound("project %s not found", ns))
			return
		}
		// A project robot's name is "<project>+<name>"; '+' cannot occur in either part.
		projectID, stored = proj.id, proj.name+"+"+body.Name
	}
	if e := s.robotAccess(who, body.Level, proj, actCreate); e != nil {
		writeError(w, e)
		return
	}
	perms := permissionsFromModel(body.Permissions)
	if who.robot != nil && !who.robot.withinCreator(perms) {
		writeError(w, &apiError{http.StatusForbidden, codeForbidden,
			"forbidden: a robot can only create robots whose permissions it holds itself, with the same effect"})
		return
	}
	for _, rb := range s.robots {
		if rb.stored == stored && rb.ProjectID == projectID {
			writeError(w, errConflict("robot account %d:%s already exists", projectID, stored))
			return
		}
	}
	if e := s.checkNamespaces(body.Permissions); e != nil {
		writeError(w, e)
		return
	}
	now := s.now()
	rb := &robot{
		Robot: Robot{
			ID:           s.nextID,
			Level:        body.Level,
			ProjectID:    projectID,
			Description:  body.Description,
			Duration:     body.Duration,
			ExpiresAt:    expiresAt(now, body.Duration),
			CreationTime: now,
			UpdateTime:   now,
			Permissions:  perms,
		},
		stored: stored,
	}
	secret := generateSecret()
	rb.setSecret(secret)
	s.robots[rb.ID] = rb
	s.nextID++

	w.Header().Set("Location", fmt.Sprintf("%s/%d", strings.TrimSuffix(r.URL.Path, "/"), rb.ID))
	writeJSON(w, http.StatusCreated, &models.RobotCreated{
		ID:           rb.ID,
		Name:         s.prefix + rb.stored,
		Secret:       secret,
		CreationTime: strfmt.DateTime(rb.CreationTime),
		ExpiresAt:    rb.ExpiresAt,
	})
}

// listRobots serves GET /robots. Without Level, or with Level=system, it lists system robots
// (before 2.13, Level=system lists project robots too: goharbor/harbor#21118); Level=project
// needs ProjectID. Other q keys filter on the robot table's columns (name is
// the stored name, without the robot prefix); unknown keys are ignored, as in Harbor. The
// default order is by name.
func (s *Server) listRobots(w http.ResponseWriter, r *http.Request, _ string) {
	page, e := parsePaging(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	who := s.authenticate(r)
	if !who.authenticated() {
		writeError(w, errUnauthorized)
		return
	}
	kw, e := parseQuery(r.URL.Query().Get("q"))
	if e != nil {
		writeError(w, e)
		return
	}
	level, proj, e := s.listScope(kw)
	if e != nil {
		writeError(w, e)
		return
	}
	if e := s.robotAccess(who, level, proj, actList); e != nil {
		writeError(w, e)
		return
	}
	delete(kw, "Level") // not a column: Harbor's ORM skips it
	for k := range kw {
		if isTimeKey(k) {
			// Harbor compares times parsed from "2006-01-02T15:04:05"; the double does not model
			// that, and says so rather than return a wrong list.
			writeError(w, errBadRequest("the Harbor double does not filter robots by %s", k))
			return
		}
	}

	var matched []*robot
	for _, rb := range s.robots {
		if robotMatches(rb, kw) {
			matched = append(matched, rb)
		}
	}
	sortRobots(matched, r.URL.Query().Get("sort"))
	lo, hi := page.bounds(len(matched))
	out := make([]*models.Robot, 0, hi-lo)
	for _, rb := range matched[lo:hi] {
		out = append(out, rb.toModel(s.prefix))
	}
	page.writeHeaders(w, r.URL, int64(len(matched)))
	writeJSON(w, http.StatusOK, out)
}

// listScope reads the level of a list from its q keywords: Level=project needs a ProjectID,
// and the project it names is returned for the access check; a system list gets
// ProjectID=0 added, except for an explicit Level=system before 2.13 (goharbor/harbor#21118).
// The caller must hold s.mu.
func (s *Server) listScope(kw map[string]any) (string, *project, *apiError) {
	lv, ok := kw["Level"]
	if !ok {
		kw["ProjectID"] = "0"
		return LevelSystem, nil, nil
	}
	level, isString := lv.(string)
	if !isString || (level != LevelSystem && level != LevelProject) {
		return "", nil, errBadRequest("bad request error level input")
	}
	if level == LevelSystem {
		if s.version.systemLevelListsOnlySystem() {
			kw["ProjectID"] = "0"
		}
		return LevelSystem, nil, nil
	}
	pv, ok := kw["ProjectID"]
	if !ok {
		return "", nil, errBadRequest("must with project ID when to query project robots")
	}
	pid, isString := pv.(string)
	n, err := strconv.ParseInt(pid, 10, 64)
	if !isString || err != nil || n <= 0 {
		return "", nil, errBadRequest("ProjectID must be a positive integer")
	}
	return LevelProject, s.projectByID(n), nil
}

// robotField returns the value of the robot column a q or sort key names (Go field or column
// name, as Harbor's ORM accepts both), or nil for a key that is not a filterable column.
func robotField(rb *robot, key string) any {
	switch key {
	case "ID", "id":
		return rb.ID
	case "Name", "name":
		return rb.stored
	case "Description", "description":
		return rb.Description
	case "ProjectID", "project_id":
		return rb.ProjectID
	case "Duration", "duration":
		return rb.Duration
	case "ExpiresAt", "expiresat":
		return rb.ExpiresAt
	case "Disabled", "disabled":
		return rb.Disabled
	case "CreatorType", "creator_type":
		return "local"
	case "CreationTime", "creation_time":
		return rb.CreationTime.UnixNano() // for sorting only, see isTimeKey
	case "UpdateTime", "update_time":
		return rb.UpdateTime.UnixNano()
	}
	return nil
}

func isTimeKey(k string) bool {
	switch k {
	case "CreationTime", "creation_time", "UpdateTime", "update_time":
		return true
	}
	return false
}

func robotMatches(rb *robot, kw map[string]any) bool {
	for k, want := range kw {
		switch got := robotField(rb, k).(type) {
		case string:
			if !matchString(want, got) {
				return false
			}
		case int64:
			if !matchInt(want, got) {
				return false
			}
		case bool:
			ws, ok := want.(string)
			b, err := strconv.ParseBool(ws)
			if !ok || err != nil || b != got {
				return false
			}
		}
	}
	return true
}

// sortRobots orders by the sort parameter ("name,-id"), ignoring keys that are not columns;
// by name when none is given, Harbor's default for robots.
func sortRobots(rs []*robot, spec string) {
	type key struct {
		name string
		desc bool
	}
	var keys []key
	for _, k := range strings.Split(spec, ",") {
		desc := strings.HasPrefix(k, "-")
		k = strings.TrimPrefix(k, "-")
		if k != "" && robotField(&robot{}, k) != nil {
			keys = append(keys, key{k, desc})
		}
	}
	if len(keys) == 0 {
		keys = []key{{name: "name"}}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		for _, k := range keys {
			c := compare(robotField(rs[i], k.name), robotField(rs[j], k.name))
			if c != 0 {
				return (c < 0) != k.desc
			}
		}
		return rs[i].ID < rs[j].ID
	})
}

func compare(a, b any) int {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		y := b.(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	case bool:
		y := b.(bool)
		switch {
		case !x && y:
			return -1
		case x && !y:
			return 1
		}
	}
	return 0
}

// lookupRobot is the common start of the /robots/{id} handlers: bind the id, require an
// authenticated caller, find the robot, check the caller's access to robots of its level and
// project (action: actRead, actDelete; "" for the admin-only operations). The caller must
// hold s.mu.
func (s *Server) lookupRobot(r *http.Request, param, action string) (*robot, *apiError) {
	id, e := parseRobotID(param)
	if e != nil {
		return nil, e
	}
	who := s.authenticate(r)
	if !who.authenticated() {
		return nil, errUnauthorized
	}
	rb := s.robots[id]
	if rb == nil {
		return nil, errNotFound("robot %d not found", id)
	}
	if action == "" {
		return rb, s.requireAdmin(r)
	}
	return rb, s.robotAccess(who, rb.Level, s.projectByID(rb.ProjectID), action)
}

// getRobot serves GET /robots/{id}. It never shows the secret.
func (s *Server) getRobot(w http.ResponseWriter, r *http.Request, param string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rb, e := s.lookupRobot(r, param, actRead)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, rb.toModel(s.prefix))
}

// deleteRobot serves DELETE /robots/{id}. Its secret stops working at once.
func (s *Server) deleteRobot(w http.ResponseWriter, r *http.Request, param string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rb, e := s.lookupRobot(r, param, actDelete)
	if e != nil {
		writeError(w, e)
		return
	}
	delete(s.robots, rb.ID)
	w.WriteHeader(http.StatusOK)
}

// updateRobot serves PUT /robots/{id} (updateV2Robot): name, level and project cannot change;
// a changed duration recomputes expires_at from the creation time; description, disable and
// the permissions are replaced. The secret field of the body is ignored.
func (s *Server) updateRobot(w http.ResponseWriter, r *http.Request, param string) {
	if _, e := parseRobotID(param); e != nil {
		writeError(w, e)
		return
	}
	var body models.Robot
	if e := decodeBody(r, "robot", &body); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rb, e := s.lookupRobot(r, param, "")
	if e != nil {
		writeError(w, e)
		return
	}
	duration := rb.Duration
	if body.Duration != nil {
		duration = *body.Duration
	}
	if e := validateRobot(duration, body.Level, body.Permissions, s.version.robotsManageRobots()); e != nil {
		writeError(w, e)
		return
	}
	if rb.Level != LevelSystem {
		ns := body.Permissions[0].Namespace
		p := s.projectByName(ns)
		if p == nil {
			writeError(w, errNotFound("project %s not found", ns))
			return
		}
		if p.id != rb.ProjectID {
			writeError(w, errBadRequest("cannot update the project id of robot"))
			return
		}
	}
	if body.Level != rb.Level || body.Name != s.prefix+rb.stored {
		writeError(w, errBadRequest("cannot update the level or name of robot"))
		return
	}
	if e := s.checkNamespaces(body.Permissions); e != nil {
		writeError(w, e)
		return
	}
	if duration != rb.Duration {
		rb.Duration = duration
		rb.ExpiresAt = expiresAt(rb.CreationTime, duration)
	}
	rb.Description = body.Description
	rb.Disabled = body.Disable
	rb.Permissions = permissionsFromModel(body.Permissions)
	rb.UpdateTime = s.now()
	w.WriteHeader(http.StatusOK)
}

// refreshRobotSecret serves PATCH /robots/{id} (RefreshSec). The robot has one secret: the old
// one dies at once. A secret chosen by the caller must be 8-128 characters with upper, lower
// case and a digit, and is then not echoed (the answer is {}); otherwise a new one is generated
// and returned. expires_at does not move (goharbor/harbor#22256).
func (s *Server) refreshRobotSecret(w http.ResponseWriter, r *http.Request, param string) {
	if _, e := parseRobotID(param); e != nil {
		writeError(w, e)
		return
	}
	var body models.RobotSec
	if e := decodeBody(r, "robotSec", &body); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rb, e := s.lookupRobot(r, param, "")
	if e != nil {
		writeError(w, e)
		return
	}
	answer := &models.RobotSec{}
	if body.Secret != "" {
		if !validSecret(body.Secret) {
			writeError(w, errBadRequest("the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number"))
			return
		}
		rb.setSecret(body.Secret)
	} else {
		answer.Secret = generateSecret()
		rb.setSecret(answer.Secret)
	}
	rb.UpdateTime = s.now()
	rb.SecretRefreshes++
	writeJSON(w, http.StatusOK, answer)
}
