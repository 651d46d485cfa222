package harbor

import (
	"context"
	"net/http"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/user"
)

// Ping checks that Harbor is reachable, that its TLS certificate is trusted and that it accepts
// the configured credentials. It reads the current user (GET /users/current), which needs an
// authenticated identity: Harbor treats wrong basic-auth credentials as anonymous and answers 401.
// Errors wrap providers.ErrAuth (401) or providers.ErrForbidden (403) and say how to fix them.
func (p *Provider) Ping(ctx context.Context) error {
	c := call{
		what:      "harbor: ping",
		forbidden: "the account may not read its own profile: check that it is not disabled",
		notFound:  "Harbor answered 404 to its API: check that the URL points at Harbor (v2.0 API)",
	}
	err := p.do(ctx, "GetCurrentUserInfo", idempotent, func(ctx context.Context) error {
		_, err := p.users.GetCurrentUserInfo(ctx, user.NewGetCurrentUserInfoParams())
		return err
	})
	// A robot account is authenticated but has no user profile: Harbor answers 412
	// "get current user not available for security context: robot".
	if err == nil || isStatus(err, http.StatusPreconditionFailed) {
		return nil
	}
	return p.explain(ctx, c, err)
}
