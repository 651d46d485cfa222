package harbor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/internal/endpoint"
)

// ErrNotOwned is returned (wrapped) by Revoke when the robot's name does not carry the spec's
// prefix: the rotator never deletes a robot it did not create.
var ErrNotOwned = errors.New("robot was not created by the rotator")

// APIError is an answer from Harbor with a status the rotator does not accept (3xx, 4xx, 5xx),
// with Harbor's own error messages. Errors returned by the provider wrap it when Harbor answered.
type APIError struct {
	Method string
	Path   string // escaped request path, without query
	Status int
	// Messages are the "message" fields of Harbor's {"errors":[{"code","message"}]} body, or a
	// short plain-text body when it is not JSON.
	Messages []string
	// Codes are the "code" fields of that body, e.g. "DENIED".
	Codes []string
	// Quick is set on a 401 that came back sooner than Harbor answers a wrong password: Harbor
	// sleeps 1.5 s before refusing one, so a quick 401 is not a wrong password (the name is
	// locked after another failed login, or Harbor does not take basic auth from this user).
	Quick bool
	// Location is the redirect target of a 3xx answer.
	Location string

	retryAfter string // raw Retry-After header, parsed by the retry loop
}

// Error renders the call and Harbor's answer; it never holds credentials.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if len(e.Messages) > 0 {
		msg += ": " + strings.Join(e.Messages, "; ")
	}
	return msg
}

// maxErrorBody bounds how much of an error body is read: Harbor's JSON errors are small, and a
// proxy's HTML page is not worth more.
const maxErrorBody = 64 << 10

// statusTransport turns every answer that is not 2xx into an *APIError before go-client sees it.
// go-client only decodes the statuses the swagger lists per operation (GET /projects/{name} has no
// 404, GET /robots no 401/403) and reports the others without body or headers; doing it here
// gives every call the status, Harbor's message and Retry-After. It also stops redirects: Go drops
// the Authorization header on a redirect to another host and turns a POST into a GET, so a
// redirect is a configuration error to report, not something to follow.
type statusTransport struct {
	next http.RoundTripper
	now  func() time.Time // times a 401, see APIError.Quick
}

func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := t.now()
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	codes, msgs := errorMessages(body)
	return nil, &APIError{
		Method:     req.Method,
		Path:       req.URL.EscapedPath(),
		Status:     resp.StatusCode,
		Messages:   msgs,
		Codes:      codes,
		Quick:      resp.StatusCode == http.StatusUnauthorized && t.now().Sub(start) < failedLoginDelay,
		Location:   resp.Header.Get("Location"),
		retryAfter: resp.Header.Get("Retry-After"),
	}
}

// errorMessages extracts Harbor's codes and messages from an error body.
func errorMessages(body []byte) (codes, msgs []string) {
	var harborErrs struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &harborErrs) == nil && len(harborErrs.Errors) > 0 {
		for _, e := range harborErrs.Errors {
			if e.Code != "" {
				codes = append(codes, e.Code)
			}
			switch {
			case e.Message != "":
				msgs = append(msgs, e.Message)
			case e.Code != "":
				msgs = append(msgs, e.Code)
			}
		}
		return codes, msgs
	}
	// A proxy in front of Harbor may answer in plain text; keep it only when it is short and
	// printable, an HTML error page would drown the message.
	text := strings.TrimSpace(string(body))
	if text == "" || len(text) > 200 || strings.HasPrefix(text, "<") ||
		strings.ContainsFunc(text, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return nil, nil
	}
	return nil, []string{text}
}

// readOnly says whether the answer is the refusal of Harbor's read-only mode: 403 DENIED "The
// system is in read only mode. Any modification is prohibited."
func (e *APIError) readOnly() bool {
	if !slices.Contains(e.Codes, "DENIED") {
		return false
	}
	for _, m := range e.Messages {
		if strings.Contains(strings.ToLower(m), "read only") {
			return true
		}
	}
	return false
}

// call describes one Harbor call for the errors it may produce.
type call struct {
	what      string // what the rotator was doing, e.g. `look up project "team-a"`
	forbidden string // the permission a 403 means is missing
	notFound  string // what a 404 means and what to do about it
	// robots, when set, says the call manages robots: a 403 is then explained by the Harbor
	// version and the kind of admin identity (see admin.go).
	robots *robotOp
}

// kindError attaches a providers sentinel (ErrAuth, ErrNotFound...) to an error without
// repeating the sentinel's text in the message.
type kindError struct {
	kind error
	err  error
}

// Causes of refusals that are not a wrong password or a missing permission, each wrapped
// (with providers.ErrAuth or providers.ErrForbidden) by the errors of the calls they fail.
var (
	// ErrReadOnly: Harbor is in read-only mode and refuses every change.
	ErrReadOnly = errors.New("harbor is in read-only mode")
	// ErrLoginLocked: Harbor refused the name for 1.5 s after a failed login.
	ErrLoginLocked = errors.New("harbor locked the login after a failed attempt")
	// ErrOIDCBasicAuth: Harbor uses OIDC and takes basic auth on its API only from the local
	// admin and robot accounts.
	ErrOIDCBasicAuth = errors.New("harbor uses OIDC: basic auth on its API works only for the local admin and robot accounts")
)

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// explain turns an error from go-client into one that says what failed and how to fix it, and
// wraps the providers sentinel a caller branches on.
func (p *Provider) explain(ctx context.Context, c call, err error) error {
	var pwErr *PasswordError
	if errors.As(err, &pwErr) { // checked first: a Vault outage must not read as Harbor's
		return fmt.Errorf("%s: %w", c.what, pwErr)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return p.explainStatus(ctx, c, apiErr, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", c.what, err)
	}

	if explained, ok := (endpoint.Endpoint{System: "Harbor", Field: "harbor", URL: p.url}).ExplainConnError(c.what, err); ok {
		return explained
	}
	return fmt.Errorf("%s: %w", c.what, err)
}

// explainStatus describes a Harbor answer; err is apiErr, possibly with more context around it.
func (p *Provider) explainStatus(ctx context.Context, c call, apiErr *APIError, err error) error {
	switch s := apiErr.Status; {
	case s == http.StatusUnauthorized:
		return p.explainUnauthorized(ctx, c, apiErr, err)
	case s == http.StatusForbidden && apiErr.readOnly():
		return &kindError{providers.ErrForbidden, &kindError{ErrReadOnly, fmt.Errorf(
			"%s: Harbor at %s is in read-only mode and refuses every change, so no robot can be created or deleted "+
				"until a Harbor admin turns it off (Configuration → System Settings → Repository Read Only, "+
				"or PUT /api/v2.0/configurations {\"read_only\": false}); nothing was changed: %w",
			c.what, p.url, err)}}
	case s == http.StatusForbidden:
		hint := c.forbidden
		if c.robots != nil {
			hint = p.robotsForbidden(ctx, *c.robots)
		}
		return &kindError{providers.ErrForbidden, fmt.Errorf("%s: Harbor denied it to %q: %s: %w",
			c.what, p.user, hint, err)}
	case s == http.StatusNotFound:
		return &kindError{providers.ErrNotFound, fmt.Errorf("%s: %s: %w", c.what, c.notFound, err)}
	case s >= 300 && s < 400:
		return fmt.Errorf("%s: Harbor at %s redirects to %q: set that address as the Harbor URL in the config: %w",
			c.what, p.url, apiErr.Location, err)
	}
	return fmt.Errorf("%s: %w", c.what, err)
}
