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
const anonymousTokenText = "the token service issued an anonymous token (its subject is empty) for the credential: it " +
	"was not accepted (a wrong password, or a deleted, disabled or expired robot or token; Harbor " +
	"answers so with 200 instead of 401); a pull would still work anonymously if the repository is public, " +
	"which proves nothing about the credential"

// unscopedRefusedText explains a refusal of the token request without a scope.
const unscopedRefusedText = "the token service refused the credential when asked for a token without a scope, " +
	"after it had answered the request for the repository with a token that names nobody: the credential was " +
	"not accepted (wrong, deleted, disabled or expired), and that token was anonymous, Harbor's answer to such a " +
	"credential (a pull with it would have worked if the repository is public)"

// proveIdentity checks that tok, issued for the credential, proves the credential
// authenticated. The token comes straight from the realm over the connection the
// check made, so its payload is read without verifying the signature: the
// registry verifies it, the check only reads whom it names (tokenIdentity).
//
// A token that names nobody for certain (opaque, or a JWT without a subject, as
// Harbor's anonymous token and GitLab's tokens for deploy tokens both are) is
// backed by one more token request without a scope, which Harbor and GitLab
// refuse with 401 to a credential they do not accept (docker login does the same
// request).
func (s *session) proveIdentity(ctx context.Context, realm *url.URL, service string, hasService bool, tok string) error {
	switch who, v := tokenIdentity(tok); v {
	case named:
		s.identity = who
		return nil
	case anonymous:
		return &PullError{Reason: ReasonUnauthorized, Stage: StageToken, Detail: anonymousTokenText, Err: ErrAnonymousToken}
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
	// The service accepted the credential without a scope.
	switch who, v := tokenIdentity(tok2); v {
	case named:
		s.identity = who
	case anonymous:
		return &PullError{Reason: ReasonUnauthorized, Stage: StageToken, Detail: anonymousTokenText, Err: ErrAnonymousToken}
	}
	return nil
}

// verdict is what a token says about whom it was issued to.
type verdict int

const (
	unknown   verdict = iota // opaque, or a JWT without a subject: says nothing
	named                    // a JWT naming a user
	anonymous                // a JWT whose "sub" is the empty string: issued to nobody
)

// tokenIdentity reads whom tok was issued to: the JWT's "sub" claim (Harbor's
// and GitLab's user names, robots and access-token bots included), else GitLab's
// "user" claim, a nested JWT whose "user_info" names the user or deploy token
// (GitLab omits "sub" for deploy tokens, and for anonymous requests). A missing or
// null "sub" is unknown, not anonymous: GitLab's token for a valid deploy token
// has none.
func tokenIdentity(tok string) (string, verdict) {
	claims, ok := jwtClaims(tok)
	if !ok {
		return "", unknown
	}
	if raw, has := claims["sub"]; has {
		var sub *string
		if json.Unmarshal(raw, &sub) == nil && sub != nil {
			if *sub == "" {
				return "", anonymous
			}
			return *sub, named
		}
	}
	var nested string
	if json.Unmarshal(claims["user"], &nested) != nil {
		return "", unknown
	}
	inner, ok := jwtClaims(nested)
	if !ok {
		return "", unknown
	}
	var info struct {
		Username string `json:"username"`
	}
	if json.Unmarshal(inner["user_info"], &info) == nil && info.Username != "" {
		return info.Username, named
	}
	return "", unknown
}

// jwtClaims decodes the payload of tok when tok is a JWT.
func jwtClaims(tok string) (map[string]json.RawMessage, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, false
	}
	return claims, true
}
