package harbordouble

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// project is a Harbor project. Projects are fixed when the Server is made: the rotator never
// creates or deletes one.
type project struct {
	id      int64
	name    string
	created time.Time
}

func (s *Server) projectByName(name string) *project {
	for _, p := range s.projects {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (s *Server) projectByID(id int64) *project {
	for _, p := range s.projects {
		if p.id == id {
			return p
		}
	}
	return nil
}

// toModel renders p as the admin sees it in GET /projects/{name_or_id}.
func (p *project) toModel() *models.Project {
	return &models.Project{
		ProjectID:          int32(p.id), //nolint:gosec // G115: the double numbers its few projects from 1
		Name:               p.name,
		OwnerID:            1,
		OwnerName:          "admin",
		CreationTime:       strfmt.DateTime(p.created),
		UpdateTime:         strfmt.DateTime(p.created),
		RepoCount:          0,
		Togglable:          true,
		CurrentUserRoleID:  1, // project admin, the role a system admin acts with
		CurrentUserRoleIds: []int32{1},
		Metadata:           &models.ProjectMetadata{Public: "false"},
	}
}

// getProject serves GET /projects/{project_name_or_id}. As in Harbor, the parameter is a name
// when X-Is-Resource-Name is true or when it is not an integer; otherwise it is an id.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request, param string) {
	isName := false
	if h := r.Header.Get("X-Is-Resource-Name"); h != "" {
		b, err := strconv.ParseBool(h)
		if err != nil {
			writeError(w, errValidation(`X-Is-Resource-Name in header must be of type bool: "`+h+`"`))
			return
		}
		isName = b
	}
	s.mu.Lock()
	aerr := s.requireAdmin(r)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var p *project
	id, err := strconv.ParseInt(param, 10, 64)
	if isName || err != nil {
		if p = s.projectByName(param); p == nil {
			writeError(w, errNotFound("project %s not found", param))
			return
		}
	} else if p = s.projectByID(id); p == nil {
		writeError(w, errNotFound("project %d not found", id))
		return
	}
	writeJSON(w, http.StatusOK, p.toModel())
}

// listProjects serves GET /projects with the name filter (a substring match, as Harbor's
// handler turns it into a fuzzy match) and paging. The admin sees every project, a robot those
// its permissions name, an anonymous client none: all projects are private.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, _ string) {
	page, verr := parsePaging(r.URL.Query())
	if verr != nil {
		writeError(w, verr)
		return
	}
	s.mu.Lock()
	who := s.authenticate(r)
	s.mu.Unlock()
	name := r.URL.Query().Get("name")
	var matched []*project
	for _, p := range s.projects {
		if name != "" && !strings.Contains(p.name, name) {
			continue
		}
		if who.admin || (who.robot != nil && who.robot.coversProject(p.name)) {
			matched = append(matched, p)
		}
	}
	total := int64(len(matched))
	out := make([]*models.Project, 0, len(matched))
	lo, hi := page.bounds(len(matched))
	for _, p := range matched[lo:hi] {
		out = append(out, p.toModel())
	}
	page.writeHeaders(w, r.URL, total)
	writeJSON(w, http.StatusOK, out)
}
