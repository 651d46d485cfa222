package harbordouble

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// project is a Harbor project. Projects are fixed when the Server is made: the rotator never
// creates or deletes one. public and policy may change (SetProjectPublic, SetProjectPolicy):
// read and write them under s.mu.
type project struct {
	id      int64
	name    string
	created time.Time
	public  bool
	policy  Policy
}

// Policy is a project's pull policy (its "Deployment security" settings). A manifest request
// for an image that breaks it answers 412 PROJECTPOLICYVIOLATION, after the pull was
// authorised. The double holds no signatures and no scan reports, so every image breaks a
// policy that is on.
type Policy struct {
	// SignatureRequired is "Cosign" (or Notation) "Deployment security": only signed images
	// may be pulled (server/middleware/contenttrust).
	SignatureRequired bool
	// PreventVulnerable is "Prevent vulnerable images from running": an image without a scan
	// report counts as breaking it (server/middleware/vulnerable).
	PreventVulnerable bool
}

// SetProjectPublic makes a project public (anyone, anonymous included, may read it and pull
// from it) or private again.
func (s *Server) SetProjectPublic(name string, public bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByName(name)
	if p == nil {
		return fmt.Errorf("harbordouble: no project %q", name)
	}
	p.public = public
	return nil
}

// SetProjectPolicy sets a project's pull policy; the zero Policy switches it off.
func (s *Server) SetProjectPolicy(name string, policy Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByName(name)
	if p == nil {
		return fmt.Errorf("harbordouble: no project %q", name)
	}
	p.policy = policy
	return nil
}

// readableBy reports whether who may read the project: anyone if it is public, else the admin,
// a user with a role in it, a robot with a permission on it. The caller must hold s.mu.
func (p *project) readableBy(who principal) bool {
	return p.public || who.admin || who.projectAdmin(p.name) || (who.robot != nil && who.robot.coversProject(p.name))
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

// toModel renders p as the admin sees it in GET /projects/{name_or_id}. The caller must hold
// s.mu.
func (p *project) toModel() *models.Project {
	str := func(b bool) string { return strconv.FormatBool(b) }
	meta := &models.ProjectMetadata{Public: str(p.public)}
	if p.policy.SignatureRequired {
		meta.EnableContentTrustCosign = new(str(true))
	}
	if p.policy.PreventVulnerable {
		meta.PreventVul = new(str(true))
		meta.Severity = new("low")
	}
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
		Metadata:           meta,
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
	defer s.mu.Unlock()
	who := s.authenticate(r)
	var p *project
	id, err := strconv.ParseInt(param, 10, 64)
	var missing *apiError
	if isName || err != nil {
		if p = s.projectByName(param); p == nil {
			missing = errNotFound("project %s not found", param)
		}
	} else if p = s.projectByID(id); p == nil {
		missing = errNotFound("project %d not found", id)
	}
	switch {
	case missing != nil && !who.authenticated():
		writeError(w, errUnauthorized)
	case missing != nil:
		writeError(w, missing)
	case !p.readableBy(who):
		// Anonymous (an OIDC user's basic auth on the API included) gets 401, others 403.
		writeError(w, denied(who))
	default:
		writeJSON(w, http.StatusOK, p.toModel())
	}
}

// listProjects serves GET /projects with the name filter (a substring match, as Harbor's
// handler turns it into a fuzzy match) and paging. The admin sees every project, a robot those
// its permissions name, a user those it has a role in, everyone the public ones.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, _ string) {
	page, verr := parsePaging(r.URL.Query())
	if verr != nil {
		writeError(w, verr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	who := s.authenticate(r)
	name := r.URL.Query().Get("name")
	var matched []*project
	for _, p := range s.projects {
		if name != "" && !strings.Contains(p.name, name) {
			continue
		}
		if p.readableBy(who) {
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
