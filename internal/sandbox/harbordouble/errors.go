package harbordouble

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// Harbor's error codes (src/lib/errors/const.go) and the statuses Harbor maps them to
// (src/lib/http/error.go).
const (
	codeBadRequest       = "BAD_REQUEST"
	codeUnauthorized     = "UNAUTHORIZED"
	codeForbidden        = "FORBIDDEN"
	codeDenied           = "DENIED"
	codeNotFound         = "NOT_FOUND"
	codeConflict         = "CONFLICT"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codeUnprocessable    = "UNPROCESSABLE_ENTITY"
	codeUnknown          = "UNKNOWN"
)

// apiError is an error answer in Harbor's shape, {"errors":[{"code":…,"message":…}]}.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errBadRequest(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, codeBadRequest, fmt.Sprintf(format, a...)}
}

func errNotFound(format string, a ...any) *apiError {
	return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf(format, a...)}
}

func errConflict(format string, a ...any) *apiError {
	return &apiError{http.StatusConflict, codeConflict, fmt.Sprintf(format, a...)}
}

// Harbor's messages for these two are the bare words (errors.UnauthorizedError(nil)).
var (
	errUnauthorized = &apiError{http.StatusUnauthorized, codeUnauthorized, "unauthorized"}
	errForbidden    = &apiError{http.StatusForbidden, codeForbidden, "forbidden"}
)

// errValidation is what Harbor answers when go-swagger fails to bind a request: the composite
// validation error, status 422, whose message lists each failure under "validation failure
// list:".
func errValidation(failures ...string) *apiError {
	return &apiError{http.StatusUnprocessableEntity, codeUnprocessable,
		"validation failure list:\n" + strings.Join(failures, "\n")}
}

// codeForStatus gives the code Harbor would attach to status, for injected faults.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeBadRequest
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusConflict:
		return codeConflict
	case http.StatusPreconditionFailed:
		return "PRECONDITION"
	case http.StatusTooManyRequests:
		return "TOO_MANY_REQUEST"
	}
	if status >= 500 {
		return codeUnknown
	}
	return strings.ReplaceAll(strings.ToUpper(http.StatusText(status)), " ", "_")
}

// writeError writes e in Harbor's shape. Like Harbor (lib/http.SendError) a 5xx never carries
// its detail: the message becomes "internal server error".
func writeError(w http.ResponseWriter, e *apiError) {
	code, msg := e.code, e.message
	if e.status >= 500 {
		code, msg = codeUnknown, "internal server error"
	}
	body, _ := json.Marshal(models.Errors{Errors: []*models.Error{{Code: code, Message: msg}}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	// Harbor writes the payload with Fprintln: keep its trailing newline.
	_, _ = w.Write(append(body, '\n'))
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{http.StatusInternalServerError, codeUnknown, err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
