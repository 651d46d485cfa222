package harbor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/systeminfo"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/providers"
)

// failedLoginDelay is how long Harbor sleeps before it refuses a wrong password, and how long it
// then refuses that name even with the right one (frozenTime in Harbor's
// src/core/auth/authenticator.go). The lock is stamped before the sleep: one client's next
// request comes too late to meet it, but a concurrent one (another rotation, another rotator, a
// person mistyping the admin password in the UI) is refused at once.
const failedLoginDelay = 1500 * time.Millisecond

// authModeOIDC is systeminfo's auth_mode of a Harbor that logs users in with OIDC.
const authModeOIDC = "oidc_auth"

// anonymousSystemInfo reads GET /systeminfo without credentials: the auth mode is public.
func anonymousSystemInfo(apiURL url.URL, transport http.RoundTripper, now func() time.Time) func(context.Context) (*models.GeneralInfo, error) {
	api := client.New(client.Config{URL: &apiURL, Transport: statusTransport{next: transport, now: now}})
	return func(ctx context.Context) (*models.GeneralInfo, error) {
		resp, err := api.Systeminfo.GetSystemInfo(ctx, systeminfo.NewGetSystemInfoParams())
		if err != nil {
			return nil, err
		}
		return resp.Payload, nil
	}
}

// explainUnauthorized tells the causes of a 401 apart. Harbor answers 401 to all of them, but
// they differ in what to do:
//   - an OIDC Harbor (systeminfo's auth_mode, read without credentials so as not to fail one
//     more login) takes basic auth on its API only from the local admin and robots;
//   - a 401 quicker than Harbor's 1.5 s failed-login delay is the lock after another failed
//     login: the password may well be right (the call was retried once after the lock);
//   - otherwise the password (or robot secret) is wrong, or the robot disabled or expired.
func (p *Provider) explainUnauthorized(ctx context.Context, c call, apiErr *APIError, err error) error {
	if info, ierr := p.anonymous(ctx); ierr == nil && info != nil && info.AuthMode != nil && *info.AuthMode == authModeOIDC {
		return &kindError{providers.ErrAuth, &kindError{ErrOIDCBasicAuth, fmt.Errorf(
			"%s: Harbor at %s uses OIDC authentication and accepts basic auth on its API only from the local admin "+
				"(user id 1, usually \"admin\") and from robot accounts, not from OIDC users such as %q: configure the local admin "+
				"or a robot account (Harbor 2.12+, see docs/compatibility.md) as the rotator's Harbor identity; "+
				"if %q is the local admin, its password is wrong: %w",
			c.what, p.url, p.user, p.user, err)}}
	}
	if apiErr.Quick {
		return &kindError{providers.ErrAuth, &kindError{ErrLoginLocked, fmt.Errorf(
			"%s: Harbor at %s refused %q at once, as it does for %s after a failed login with that name, even with "+
				"the right password (and the retry after the lock failed too): another client is logging in as %q "+
				"with a wrong password (a person, another rotator, an old copy of the password): find and fix it, "+
				"or give the rotator an identity of its own: %w",
			c.what, p.url, p.user, failedLoginDelay, p.user, err)}}
	}
	return &kindError{providers.ErrAuth, fmt.Errorf(
		"%s: Harbor refused the admin credentials for %q at %s: check the username and password in the config "+
			"(for a robot account: its secret, that it is neither disabled nor expired, and that its name carries "+
			"Harbor's current robot name prefix): %w",
		c.what, p.user, p.url, err)}
}

// lockedOut says whether err is a quick 401, possibly Harbor's failed-login lock, worth one
// retry once the lock is over. Not a second one: if the password is wrong, every further try
// is one more failed login that locks the name again.
func lockedOut(err error, attempt int) bool {
	var apiErr *APIError
	return attempt == 1 && errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && apiErr.Quick
}
