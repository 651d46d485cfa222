package gitlabdouble

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiError is an error answer in one of GitLab's shapes: {"message": …} from the API's helpers
// (render_api_error!, unauthorized!, not_found!…) or {"error": …} from Grape's parameter
// validation and routing.
type apiError struct {
	status int
	key    string // "message" or "error"
	text   string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.text) }

// The API helpers' fixed answers (lib/api/helpers.rb).
var (
	errUnauthorized = &apiError{http.StatusUnauthorized, "message", "401 Unauthorized"}
	errForbidden    = &apiError{http.StatusForbidden, "message", "403 Forbidden"}
	// errRecordNotFound is what an ActiveRecord::RecordNotFound (a find by id) becomes.
	errRecordNotFound = &apiError{http.StatusNotFound, "message", "404 Not found"}
)

// errNotFound is not_found!(resource): "404 Project Not Found", "404 Group Not Found".
func errNotFound(resource string) *apiError {
	return &apiError{http.StatusNotFound, "message", "404 " + resource + " Not Found"}
}

// errBadRequest is bad_request!(reason): "400 Bad request - reason".
func errBadRequest(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "message", "400 Bad request - " + fmt.Sprintf(format, a...)}
}

// errInvalid is a model validation failure rendered with render_api_error!(message, 400).
func errInvalid(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "message", fmt.Sprintf(format, a...)}
}

// errParams is Grape's answer to invalid parameters: {"error": "name is missing, …"}.
func errParams(problems ...string) *apiError {
	return &apiError{http.StatusBadRequest, "error", strings.Join(problems, ", ")}
}

func notFoundOf(kind nsKind) *apiError {
	if kind == kindGroup {
		return errNotFound("Group")
	}
	return errNotFound("Project")
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]string{e.key: e.text})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"500 Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
