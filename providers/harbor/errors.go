package harbor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
}

func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, &APIError{
		Method:     req.Method,
		Path:       req.URL.EscapedPath(),
		Status:     resp.StatusCode,
		Messages:   errorMessages(body),
		Location:   resp.Header.Get("Location"),
		retryAfter: resp.Header.Get("Retry-After"),
	}
}

// errorMessages extracts Harbor's messages from an error body.
func errorMessages(body []byte) []string {
	var harborErrs struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &harborErrs) == nil && len(harborErrs.Errors) > 0 {
		var msgs []string
		for _, e := range harborErrs.Errors {
			switch {
			case e.Message != "":
				msgs = append(msgs, e.Message)
			case e.Code != "":
				msgs = append(msgs, e.Code)
			}
		}
		return msgs
	}
	// A proxy in front of Harbor may answer in plain text; keep it only when it is short and
	// printable, an HTML error page would drown the message.
	text := strings.TrimSpace(string(body))
	if text == "" || len(text) > 200 || strings.HasPrefix(text, "<") ||
		strings.ContainsFunc(text, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return nil
	}
	return []string{text}
}

// call describes one Harbor call for the errors it may produce.
type call struct {
	what      string // what the rotator was doing, e.g. `look up project "team-a"`
	forbidden string // the permission a 403 means is missing
	notFound  string // what a 404 means and what to do about it
}

// kindError attaches a providers sentinel (ErrAuth, ErrNotFound...) to an error without
// repeating the sentinel's text in the message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// explain turns an error from go-client into one that says what failed and how to fix it, and
// wraps the providers sentinel a caller branches on.
func (p *Provider) explain(c call, err error) error {
	var pwErr *PasswordError
	if errors.As(err, &pwErr) { // checked first: a Vault outage must not read as Harbor's
		return fmt.Errorf("%s: %w", c.what, pwErr)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return p.explainStatus(c, apiErr, err)
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
func (p *Provider) explainStatus(c call, apiErr *APIError, err error) error {
	switch s := apiErr.Status; {
	case s == http.StatusUnauthorized:
		return &kindError{providers.ErrAuth, fmt.Errorf(
			"%s: Harbor refused the admin credentials for %q at %s: check the username and password in the config "+
				"(for a robot account: its secret, and that it is neither disabled nor expired): %w",
			c.what, p.user, p.url, err)}
	case s == http.StatusForbidden:
		return &kindError{providers.ErrForbidden, fmt.Errorf("%s: Harbor denied it to %q: %s: %w",
			c.what, p.user, c.forbidden, err)}
	case s == http.StatusNotFound:
		return &kindError{providers.ErrNotFound, fmt.Errorf("%s: %s: %w", c.what, c.notFound, err)}
	case s >= 300 && s < 400:
		return fmt.Errorf("%s: Harbor at %s redirects to %q: set that address as the Harbor URL in the config: %w",
			c.what, p.url, apiErr.Location, err)
	}
	return fmt.Errorf("%s: %w", c.what, err)
}
