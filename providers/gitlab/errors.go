package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/internal/endpoint"
)

// ErrNotOwned is returned (wrapped) by Revoke when the token's name does not carry the spec's
// prefix: the rotator never deletes a token it did not create.
var ErrNotOwned = errors.New("token was not created by the rotator")

// ErrLifetimeLimit is returned (wrapped) when GitLab refuses the expiry date because the
// instance limits how far ahead a token may expire.
var ErrLifetimeLimit = errors.New("expiry date beyond the GitLab instance's limit")

// APIError is an answer from GitLab with a status the rotator does not accept (3xx, 4xx, 5xx)
// and GitLab's own message. Errors returned by the provider wrap it when GitLab answered.
type APIError struct {
	Method string
	// Path is the escaped request path, e.g. /api/v4/groups/group-a%2Fsub/deploy_tokens: a
	// project or group path appears URL-encoded, as GitLab received it.
	Path   string
	Status int
	// Message is GitLab's "message" or "error" (flattened when it is a map of fields), or a
	// short plain-text body.
	Message string
	// Location is the redirect target of a 3xx answer.
	Location string

	retryAfter string // raw Retry-After header, read by the retry loop
}

// Error renders the call and GitLab's answer; it never holds credentials.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		// GitLab's messages often start with the status already ("403 Forbidden").
		if strings.HasPrefix(e.Message, strconv.Itoa(e.Status)) {
			msg = fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.Message)
		} else {
			msg += ": " + e.Message
		}
	}
	return msg
}

// asAPIError finds GitLab's answer in err.
func asAPIError(err error) *APIError {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	return nil
}

// maxErrorBody bounds how much of an error body is read: GitLab's JSON errors are small, and a
// proxy's HTML page is not worth more.
const maxErrorBody = 64 << 10

// statusTransport turns every answer that is not 2xx into an *APIError before the client sees
// it: client-go's own error drops the body of a 404 and all headers, and the retry loop needs
// Retry-After. It also stops redirects: Go keeps custom headers such as PRIVATE-TOKEN on a
// redirect, so following one to another host could hand it the admin token.
type statusTransport struct {
	next http.RoundTripper
}

func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return resp, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, &APIError{
		Method:     req.Method,
		Path:       req.URL.EscapedPath(),
		Status:     resp.StatusCode,
		Message:    errorMessage(body),
		Location:   resp.Header.Get("Location"),
		retryAfter: resp.Header.Get("Retry-After"),
	}
}

// errorMessage extracts GitLab's message from an error body: {"message": "…"}, {"message":
// {"field": ["…"]}}, {"error": "…"}, or short plain text ("Retry later").
func errorMessage(body []byte) string {
	var shape struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(body, &shape) == nil {
		var s string
		if json.Unmarshal(shape.Message, &s) == nil && s != "" {
			return s
		}
		var fields map[string][]string
		if json.Unmarshal(shape.Message, &fields) == nil && len(fields) > 0 {
			var parts []string
			for k, v := range fields {
				parts = append(parts, k+" "+strings.Join(v, ", "))
			}
			sort.Strings(parts)
			return strings.Join(parts, "; ")
		}
		if shape.Error != "" {
			return shape.Error
		}
	}
	text := strings.TrimSpace(string(body))
	if text == "" || len(text) > 200 || strings.HasPrefix(text, "<") ||
		strings.ContainsFunc(text, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return ""
	}
	return text
}

// call describes one GitLab call for the errors it may produce.
type call struct {
	what      string // what the rotator was doing, e.g. `create deploy token "x" in group "g"`
	forbidden string // the role a 403 (or GitLab's 400/401 variants) means is missing
	notFound  string // what a 404 means and what to do about it
	expiry    string // the expiry date asked for, for a create
}

// kindError attaches a sentinel (providers.ErrAuth, ErrNotFound…) to an error without
// repeating the sentinel's text in the message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// explain turns an error from the client into one that says what failed and how to fix it, and
// wraps the sentinel a caller branches on.
func (p *Provider) explain(c call, err error) error {
	var tokErr *TokenError
	if errors.As(err, &tokErr) { // checked first: a Vault outage must not read as GitLab's
		return fmt.Errorf("%s: %w", c.what, tokErr)
	}
	if apiErr := asAPIError(err); apiErr != nil {
		return p.explainStatus(c, apiErr, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", c.what, err)
	}
	if explained, ok := (endpoint.Endpoint{System: "GitLab", Field: "gitlab", URL: p.url}).ExplainConnError(c.what, err); ok {
		return explained
	}
	return fmt.Errorf("%s: %w", c.what, err)
}

// explainStatus describes a GitLab answer; err is apiErr, possibly with more context around it.
func (p *Provider) explainStatus(c call, apiErr *APIError, err error) error {
	msg := strings.ToLower(apiErr.Message)
	switch s := apiErr.Status; {
	case s == http.StatusUnauthorized:
		hint := "check gitlab.tokenFrom: the token may be wrong, revoked or expired, or lack the api scope"
		if p.kind != DeployToken {
			hint += "; GitLab also answers 401 when the token's user lacks the role to manage access tokens (" + c.forbidden + ")"
		}
		return &kindError{providers.ErrAuth, fmt.Errorf("%s: GitLab at %s refused the admin token: %s: %w", c.what, p.url, hint, err)}
	case s == http.StatusForbidden:
		return &kindError{providers.ErrForbidden, fmt.Errorf("%s: GitLab denied it to the admin token: %s: %w", c.what, c.forbidden, err)}
	case s == http.StatusBadRequest && (strings.Contains(msg, "does not have permission") || strings.Contains(msg, "cannot delete")):
		return &kindError{providers.ErrForbidden, fmt.Errorf("%s: GitLab denied it to the admin token: %s: %w", c.what, c.forbidden, err)}
	case s == http.StatusBadRequest && strings.Contains(msg, "expires at must be before"):
		return &kindError{ErrLifetimeLimit, fmt.Errorf("%s: GitLab refused the expiry date %s: this instance lets tokens expire at most "+
			"as far ahead as its message says: lower credentials[].lifetime below that limit: %w", c.what, c.expiry, err)}
	case s == http.StatusNotFound:
		return &kindError{providers.ErrNotFound, fmt.Errorf("%s: %s: %w", c.what, c.notFound, err)}
	case s == http.StatusTooManyRequests:
		return fmt.Errorf("%s: GitLab is rate-limiting the rotator (429): the next run tries again; if it persists, "+
			"ask the GitLab admins about the API rate limits of the admin token's user: %w", c.what, err)
	case s >= 300 && s < 400:
		return fmt.Errorf("%s: GitLab at %s redirects to %q: set that address as gitlab.url: %w", c.what, p.url, apiErr.Location, err)
	case s >= 500:
		return fmt.Errorf("%s: GitLab at %s failed (%d): check GitLab's health; the next run tries again: %w", c.what, p.url, s, err)
	}
	return fmt.Errorf("%s: %w", c.what, err)
}
