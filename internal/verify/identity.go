package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrAnonymousToken is the cause (errors.Is) of a check that failed because the
// token service answered the credential with an anonymous token.
var ErrAnonymousToken = errors.New("the token service issued an anonymous token for the credential")

// anonymousTokenText says what an anonymous token for a credential means.
const anonymousTokenText = "the token service issued an anonymous token (its subject is empty): the credential " +
	"was not accepted (a wrong password, or a deleted, disabled or expired robot or token; Harbor and GitLab " +
	"answer so with 200 instead of 401); a pull would still work anonymously if the repository is public, " +
	"which proves nothing about the credential"

// unscopedRefusedText explains a refusal of the token request without a scope.
const unscopedRefusedText = "the token service refused the credential when asked for a token without a scope, " +
	"after it had answered the request for the repository with a token that names nobody: the credential was " +
	"not accepted, and that token was anonymous (a pull would have worked anonymously if the repository is public)"

// proveIdentity checks that tok, issued for the credential, proves the credential
// authenticated. Harbor and GitLab issue JWTs naming the user in "sub", and an
// anonymous token (their answer to a credential they do not accept) with an empty,
// null or missing "sub". The token comes straight from the realm over the
// connection the check made, so its payload is read without verifying the
// signature: the registry verifies it, the check only reads who it names.
//
// A token that is opaque or has no "sub" claim at all says nothing: then one more
// token request without a scope decides, which Harbor and GitLab refuse with 401
// to a credential they do not accept (docker login does the same request).
func (s *session) proveIdentity(ctx context.Context, realm *url.URL, service string, hasService bool, tok string) error {
	if sub, ok := jwtSubject(tok); ok {
		if sub == "" {
			return &PullError{Reason: ReasonUnauthorized, Stage: StageToken, Detail: anonymousTokenText, Err: ErrAnonymousToken}
		}
		s.identity = sub
		return nil
	}
	tok2, err := s.requestToken(ctx, realm, service, hasService, "")
	if err != nil {
		var pe *PullError
		if !errors.As(err, &pe) {
			return err
		}
		if pe.Reason == ReasonUnauthorized || pe.Reason == ReasonDenied {
			pe.Reason = ReasonUnauthorized
			pe.Detail = unscopedRefusedText + "; " + pe.Detail
			return pe
		}
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode < http.StatusInternalServerError && terr.StatusCode != http.StatusTooManyRequests &&
			terr.StatusCode != http.StatusRequestTimeout {
			// The service does not do requests without a scope (400, 404, …): it
			// cannot tell more, and the pull stays the only proof, as before.
			return nil
		}
		return err // the service failed or was not reached: no verdict either way
	}
	if sub, ok := jwtSubject(tok2); ok {
		if sub == "" {
			return &PullError{Reason: ReasonUnauthorized, Stage: StageToken, Detail: anonymousTokenText, Err: ErrAnonymousToken}
		}
		s.identity = sub
	}
	return nil
}

// jwtSubject returns the "sub" claim of tok when tok is a JWT, and whether it has
// one: ("", true) for an empty or null subject, ("", false) for an opaque token or
// a JWT without "sub".
func jwtSubject(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", false
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", false
	}
	raw, ok := claims["sub"]
	if !ok {
		return "", false
	}
	var sub string
	if err := json.Unmarshal(raw, &sub); err != nil {
		// null (GitLab's anonymous token) or a non-string: names nobody.
		return "", true
	}
	return sub, true
}
