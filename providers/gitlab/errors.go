package gitlab

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrNotOwned is returned (wrapped) by Revoke when the token's name does not carry the spec's
// prefix: the rotator never deletes a token it did not create.
var ErrNotOwned = errors.New("token was not created by the rotator")

// ErrLifetimeLimit is returned (wrapped) when GitLab refuses the expiry date because the
// instance limits how far ahead a token may expire.
var ErrLifetimeLimit = errors.New("expiry date beyond the GitLab instance's limit")

// The admin-side causes a caller (the doctor, a report) may branch on. Each is wrapped next to
// the providers sentinel of its status (ErrAuth, ErrForbidden, ErrNotFound).
var (
	// ErrAdminTokenExpired: GitLab says the admin token has expired (401 invalid_token).
	ErrAdminTokenExpired = errors.New("the GitLab admin token has expired")
	// ErrAdminTokenRevoked: GitLab says the admin token was revoked (401 invalid_token).
	ErrAdminTokenRevoked = errors.New("the GitLab admin token was revoked")
	// ErrAdminTokenScope: the admin token lacks the api scope (403 insufficient_scope).
	ErrAdminTokenScope = errors.New("the GitLab admin token lacks the api scope")
	// ErrBotAdmin: the admin token is a project or group access token, whose bot user GitLab
	// never lets create access tokens.
	ErrBotAdmin = errors.New("the GitLab admin token belongs to a bot user")
	// ErrAccessTokensUnavailable: GitLab refuses access tokens for this project or group
	// whatever the role: the gitlab.com plan, or access token creation switched off.
	ErrAccessTokensUnavailable = errors.New("GitLab does not allow access tokens here")
	// ErrAccessTokenLimit: a gitlab.com trial allows one active project access token.
	ErrAccessTokenLimit = errors.New("GitLab's access token limit reached")
	// ErrRouteNotFound: a 404 that names nothing GitLab knows: no GitLab route matched the
	// path, usually because a proxy in front of GitLab decoded %2F.
	ErrRouteNotFound = errors.New("GitLab has no route for the request")
)

// APIError is an answer from GitLab with a status the rotator does not accept (3xx, 4xx, 5xx)
// and GitLab's own message. Errors returned by the provider wrap it when GitLab answered.
type APIError struct {
	Method string
	// Path is the escaped request path, e.g. /api/v4/groups/group-a%2Fsub/deploy_tokens: a
	// project or group path appears URL-encoded, as GitLab received it.
	Path   string
	Status int
	// Message is GitLab's "message" (flattened when it is a map), Grape's "error", the OAuth
	// error_description, or a short plain-text body.
	Message string
	// OAuthError is the OAuth 2.0 error code of the API guard's answers: invalid_token (an
	// expired or revoked token) or insufficient_scope; empty otherwise.
	OAuthError string
	// Location is the redirect target of a 3xx answer.
	Location string

	shape      bodyShape // where Message came from, to tell GitLab's 404s from a proxy's
	retryAfter string    // raw Retry-After header, read by the retry loop
}

// Error renders the call and GitLab's answer; it never holds credentials.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	switch {
	case e.OAuthError != "":
		msg += ": " + e.OAuthError
		if e.Message != "" {
			msg += ": " + e.Message
		}
	case e.Message != "":
		// GitLab's messages often start with the status already ("403 Forbidden").
		if strings.HasPrefix(e.Message, strconv.Itoa(e.Status)) {
			msg = fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.Message)
		} else {
			msg += ": " + e.Message
		}
	case e.shape == shapeHTML:
		msg += " (an HTML page, not GitLab's API)"
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
	b := parseErrorBody(body)
	return nil, &APIError{
		Method:     req.Method,
		Path:       req.URL.EscapedPath(),
		Status:     resp.StatusCode,
		Message:    b.message,
		OAuthError: b.oauthCode,
		Location:   resp.Header.Get("Location"),
		shape:      b.shape,
		retryAfter: resp.Header.Get("Retry-After"),
	}
}
