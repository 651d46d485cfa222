package gitlabdouble

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"time"
)

// The deploy token API after lib/api/deploy_tokens.rb: each handler checks the caller (401),
// the parameters (400, Grape), the project or group (404, also when the caller cannot see it),
// the caller's role (403), then the model's rules (400).

// deployTokenScopes are DeployToken::AVAILABLE_SCOPES.
var deployTokenScopes = []string{"read_repository", "read_registry", "write_registry",
	"read_package_registry", "write_package_registry", "read_virtual_registry", "write_virtual_registry"}

// deployUsername is the DeployToken model's username rule.
var deployUsername = regexp.MustCompile(`^[a-zA-Z0-9.+_-]+$`)

// deployTokenRole is the role that may manage deploy tokens: Maintainer of a project
// (ProjectPolicy), Owner of a group (GroupPolicy).
func deployTokenRole(kind nsKind) int {
	if kind == kindGroup {
		return Owner
	}
	return Maintainer
}

// deployTokenHolder authenticates the request and finds the project or group p names, checking
// that the caller may manage its deploy tokens. The caller must hold s.mu.
func (s *Server) deployTokenHolder(r *http.Request, p params) (*namespace, *apiError) {
	u, e := s.apiUser(r)
	if e != nil {
		return nil, e
	}
	ns := s.lookup(p.kind, p.id)
	if ns == nil || !u.visible(ns) {
		return nil, notFoundOf(p.kind)
	}
	if u.role(ns) < deployTokenRole(p.kind) {
		return nil, errForbidden
	}
	return ns, nil
}

// listDeployTokens serves GET /projects/:id/deploy_tokens and /groups/:id/deploy_tokens,
// optionally only active ones (?active=true), paged.
func (s *Server) listDeployTokens(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, e := s.deployTokenHolder(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	onlyActive := r.URL.Query().Get("active") == "true"
	now := s.now()
	var ids []int64
	for id, t := range s.deployTokens {
		if t.holder == ns && (!onlyActive || t.active(now)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	items := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		items = append(items, s.deployTokens[id].toJSON(now, ""))
	}
	writePage(w, r, items)
}

// createDeployTokenBody is the create call's parameters.
type createDeployTokenBody struct {
	Name      *string  `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresAt *string  `json:"expires_at"`
	Username  *string  `json:"username"`
}

// createDeployToken serves POST …/deploy_tokens. The answer is the only place the token value
// ever appears.
func (s *Server) createDeployToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.apiUser(r); e != nil {
		writeError(w, e)
		return
	}
	var body createDeployTokenBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	var problems []string
	if body.Name == nil {
		problems = append(problems, "name is missing")
	}
	if body.Scopes == nil {
		problems = append(problems, "scopes is missing")
	}
	for _, sc := range body.Scopes {
		if !slices.Contains(deployTokenScopes, sc) {
			problems = append(problems, "scopes does not have a valid value")
			break
		}
	}
	var expires *time.Time
	if body.ExpiresAt != nil && *body.ExpiresAt != "" {
		t, ok := parseDateTime(*body.ExpiresAt)
		if !ok {
			problems = append(problems, "expires_at is invalid")
		}
		expires = &t
	}
	if len(problems) > 0 {
		writeError(w, errParams(problems...))
		return
	}
	ns, e := s.deployTokenHolder(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	// The model's validations (DeployToken), rendered by render_api_error!(message, 400).
	switch {
	case len(body.Scopes) == 0:
		writeError(w, errInvalid("Scopes can't be blank"))
		return
	case body.Username != nil && *body.Username != "" && (len(*body.Username) > 255 || !deployUsername.MatchString(*body.Username)):
		writeError(w, errInvalid("Username can contain only letters, digits, '_', '-', '+', and '.'"))
		return
	case len(*body.Name) > 255:
		writeError(w, errInvalid("Name is too long (maximum is 255 characters)"))
		return
	}
	value, hash := newTokenValue(deployTokenPrefix)
	t := &deployToken{
		DeployToken: DeployToken{
			ID: s.nextDeployID, Name: *body.Name, Holder: ns.path, HolderKind: string(ns.kind),
			Scopes: slices.Clone(body.Scopes), ExpiresAt: expires, CreatedAt: s.now(),
		},
		holder: ns, hash: hash, refused: s.refuseNew,
	}
	sort.Strings(t.Scopes)
	t.Username = fmt.Sprintf("gitlab+deploy-token-%d", t.ID)
	if body.Username != nil && *body.Username != "" {
		t.Username = *body.Username
	}
	s.nextDeployID++
	s.deployTokens[t.ID] = t
	writeJSON(w, http.StatusCreated, t.toJSON(s.now(), value))
}

// findDeployToken checks the caller and finds the token :token_id of the holder. The caller
// must hold s.mu.
func (s *Server) findDeployToken(r *http.Request, p params) (*deployToken, *apiError) {
	if _, e := s.apiUser(r); e != nil {
		return nil, e
	}
	id, e := parseTokenID(p.tokenID)
	if e != nil {
		return nil, e
	}
	ns, e := s.deployTokenHolder(r, p)
	if e != nil {
		return nil, e
	}
	t := s.deployTokens[id]
	if t == nil || t.holder != ns {
		// user_project.deploy_tokens.find(id) raises RecordNotFound.
		return nil, errRecordNotFound
	}
	return t, nil
}

// getDeployToken serves GET …/deploy_tokens/:token_id.
func (s *Server) getDeployToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.findDeployToken(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, t.toJSON(s.now(), ""))
}

// deleteDeployToken serves DELETE …/deploy_tokens/:token_id: the token is destroyed, so a
// second delete answers 404.
func (s *Server) deleteDeployToken(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.findDeployToken(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	delete(s.deployTokens, t.ID)
	w.WriteHeader(http.StatusNoContent)
}
