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
	key    string // "message", "error", or "oauth" for the API guard's OAuth 2.0 errors
	text   string
	// code and scope are the OAuth 2.0 error code (invalid_token, insufficient_scope) and the
	// scope an insufficient_scope answer names; key "oauth" only.
	code, scope string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.text) }

// The 400 texts of ResourceAccessTokens::CreateService that the rotator must tell apart.
const (
	// msgAccessTokenLimit: a gitlab.com trial allows one active project access token.
	msgAccessTokenLimit = "Access token limit reached"
)

// The API helpers' fixed answers (lib/api/helpers.rb).
var (
	errUnauthorized = &apiError{status: http.StatusUnauthorized, key: "message", text: "401 Unauthorized"}
	errForbidden    = &apiError{status: http.StatusForbidden, key: "message", text: "403 Forbidden"}
	// errRecordNotFound is what an ActiveRecord::RecordNotFound (a find by id) becomes.
	errRecordNotFound = &apiError{status: http.StatusNotFound, key: "message", text: "404 Not found"}
)

// The API guard's answers (lib/api/api_guard.rb, rendered by rack-oauth2): {"error": code,
// "error_description": text}, and "scope" for insufficient_scope.
var (
	errTokenExpired = &apiError{status: http.StatusUnauthorized, key: "oauth", code: "invalid_token",
		text: "Token is expired. You can either do re-authorization or token refresh."}
	errTokenRevoked = &apiError{status: http.StatusUnauthorized, key: "oauth", code: "invalid_token",
		text: "Token was revoked. You have to re-authorize from the user."}
	errInsufficientScope = &apiError{status: http.StatusForbidden, key: "oauth", code: "insufficient_scope",
		text: "The request requires higher privileges than provided by the access token.", scope: "api"}
)

// errNotFound is not_found!(resource): "404 Project Not Found", "404 Group Not Found".
func errNotFound(resource string) *apiError {
	return &apiError{status: http.StatusNotFound, key: "message", text: "404 " + resource + " Not Found"}
}

// errBadRequest is bad_request!(reason): "400 Bad request - reason".
func errBadRequest(format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, key: "message", text: "400 Bad request - " + fmt.Sprintf(format, a...)}
}

// errInvalid is a model validation failure rendered with render_api_error!(message, 400).
func errInvalid(format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, key: "message", text: fmt.Sprintf(format, a...)}
}

// errParams is Grape's answer to invalid parameters: {"error": "name is missing, …"}.
func errParams(problems ...string) *apiError {
	return &apiError{status: http.StatusBadRequest, key: "error", text: strings.Join(problems, ", ")}
}

func notFoundOf(kind nsKind) *apiError {
	if kind == kindGroup {
		return errNotFound("Group")
	}
	return errNotFound("Project")
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.key != "oauth" {
		writeJSON(w, e.status, map[string]string{e.key: e.text})
		return
	}
	body := map[string]string{"error": e.code, "error_description": e.text}
	if e.scope != "" {
		body["scope"] = e.scope
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="Protected by OAuth 2.0", error=%q, error_description=%q`, e.code, e.text))
	}
	writeJSON(w, e.status, body)
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
