package harbordouble

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Harbor's system settings the double models (GET|PUT /api/v2.0/configurations, src/lib/config).
const (
	cfgRobotPrefix = "robot_name_prefix"
	cfgReadOnly    = "read_only"
	cfgAuthMode    = "auth_mode"
)

// SetRobotPrefix changes Harbor's robot_name_prefix, as an admin would in the UI. Harbor adds
// the prefix when it reads a robot, so every robot is renamed at once: list and get show the
// new names, the old usernames stop working at the token service and the API, and only the new
// ones log in. Existing secrets are unchanged.
func (s *Server) SetRobotPrefix(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefix = prefix
}

// RobotPrefix returns the robot_name_prefix now in force.
func (s *Server) RobotPrefix() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prefix
}

// SetReadOnly switches read-only mode: every API write (except PUT /configurations, to switch
// it off) and every registry push answers 403 DENIED.
func (s *Server) SetReadOnly(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = on
}

// readOnlyMessage is the message of Harbor's read-only middleware (src/server/middleware/readonly).
const readOnlyMessage = "The system is in read only mode. Any modification is prohibited."

// refuseReadOnly answers a write in read-only mode with 403 DENIED and reports whether it did.
func (s *Server) refuseReadOnly(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	if r.Method == http.MethodPut && r.URL.Path == apiPrefix+"/configurations" {
		return false
	}
	s.mu.Lock()
	on := s.readOnly
	s.mu.Unlock()
	if !on {
		return false
	}
	writeError(w, &apiError{http.StatusForbidden, codeDenied, readOnlyMessage})
	return true
}

// configValue is one setting as GET /configurations shows it.
type configValue struct {
	Value    any  `json:"value"`
	Editable bool `json:"editable"`
}

// getConfigurations serves GET /configurations: system admin only. Only the settings the
// double models are listed.
func (s *Server) getConfigurations(w http.ResponseWriter, r *http.Request, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.requireAdmin(r); e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]configValue{
		cfgRobotPrefix: {s.prefix, true},
		cfgReadOnly:    {s.readOnly, true},
		cfgAuthMode:    {s.authMode, false},
	})
}

// putConfigurations serves PUT /configurations: system admin only; robot_name_prefix (a
// non-empty string) and read_only (a bool) may be set. The double refuses other keys rather
// than pretend to apply them.
func (s *Server) putConfigurations(w http.ResponseWriter, r *http.Request, _ string) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, errBadRequest("invalid configurations: %v", err))
		return
	}
	var prefix *string
	var readOnly *bool
	for k, raw := range body {
		switch k {
		case cfgRobotPrefix:
			var v string
			if json.Unmarshal(raw, &v) != nil || strings.TrimSpace(v) == "" {
				writeError(w, errBadRequest("%s must be a non-empty string", k))
				return
			}
			prefix = &v
		case cfgReadOnly:
			var v bool
			if json.Unmarshal(raw, &v) != nil {
				writeError(w, errBadRequest("%s must be a boolean", k))
				return
			}
			readOnly = &v
		default:
			writeError(w, errBadRequest("the Harbor double does not model the setting %s", k))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.requireAdmin(r); e != nil {
		writeError(w, e)
		return
	}
	if prefix != nil {
		s.prefix = *prefix
	}
	if readOnly != nil {
		s.readOnly = *readOnly
	}
	w.WriteHeader(http.StatusOK)
}
