package gitlab

import (
	"context"
	"errors"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// TokenError is a failure of Options.TokenFunc: the admin token could not be read where it is
// kept (Vault, a file). It is reported as that, not as a GitLab or network failure.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "read the GitLab admin token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// tokenAuth puts the admin token into every request as PRIVATE-TOKEN, asking for it at each
// request with the request's context, so a token changed where it is kept is used at once.
type tokenAuth struct {
	token func(ctx context.Context) (string, error)
}

var _ gl.AuthSource = tokenAuth{}

func (tokenAuth) Init(context.Context, *gl.Client) error { return nil }

func (a tokenAuth) Header(ctx context.Context) (string, string, error) {
	tok, err := a.token(ctx)
	if err == nil && tok == "" {
		err = errors.New("it is empty")
	}
	if err != nil {
		return "", "", &TokenError{Err: err}
	}
	return "PRIVATE-TOKEN", tok, nil
}
