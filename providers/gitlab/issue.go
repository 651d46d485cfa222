package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rotatorhq/rotator/providers"
)

// Issue creates a new pull-only token for spec: a deploy token with read_registry, or an access
// token with read_registry and the Reporter role, expiring at 00:00 UTC of the date
// expiryDate computes from spec.Lifetime. It never modifies an existing token and never retries a
// create that may have reached GitLab.
func (p *Provider) Issue(ctx context.Context, spec providers.Spec) (providers.Credential, error) {
	holder, err := checkSpec(spec, true)
	if err != nil {
		return providers.Credential{}, err
	}
	now := p.now()
	name, err := tokenName(spec, now)
	if err != nil {
		return providers.Credential{}, err
	}
	req := createRequest{
		name:        name,
		description: spec.Description,
		username:    p.username,
		expires:     expiryDate(now, spec.Lifetime),
	}
	c := call{
		what:      fmt.Sprintf("gitlab: create %s %q with read_registry in %s %q", p.kindName(), req.name, p.holderKind(), holder),
		holder:    holder,
		forbidden: p.neededRole(holder),
		notFound:  p.notFound(holder),
		expiry:    req.expires.Format(time.DateOnly),
	}
	created, err := p.create(ctx, holder, req)
	if limit, ok := instanceDateLimit(err, req.expires); ok {
		// GitLab counts the limit from today in its own time zone (Date.current), which near
		// midnight is a day behind UTC's: ask once more for the last date it allows. Nothing
		// was created: the 400 is the token model's validation.
		p.log.InfoContext(ctx, "GitLab's time zone allows one day less: asking for its last allowed expiry date",
			"token", req.name, "asked", req.expires.Format(time.DateOnly), "allowed", limit.Format(time.DateOnly))
		req.expires = limit
		c.expiry = limit.Format(time.DateOnly)
		created, err = p.create(ctx, holder, req)
	}
	if err != nil {
		if p.kind != DeployToken && createRefused(err) {
			return providers.Credential{}, p.explainCreateRefused(ctx, c, err)
		}
		err = p.explain(c, err)
		apiErr := asAPIError(err)
		rejected := apiErr != nil && apiErr.Status < 500
		if !rejected && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, context.Canceled) {
			// No answer, or a server error that may come after the insert: the token may exist.
			// This is why a create is not retried; a later run revokes it as an orphan.
			err = fmt.Errorf("%w (GitLab may have created token %q anyway: the rotator finds it by its prefix and deletes it later)", err, req.name)
		}
		return providers.Credential{}, err
	}
	if err := p.checkCreated(req, created); err != nil {
		if created.id > 0 {
			// The token exists but cannot be used: delete it rather than leak it. WithoutCancel:
			// the cleanup matters even when the caller gave up.
			if derr := p.deleteToken(context.WithoutCancel(ctx), holder, created.id, created.name); derr != nil {
				err = fmt.Errorf("%w; deleting it failed too: %w", err, derr)
			}
		}
		return providers.Credential{}, fmt.Errorf("%s: %w", c.what, err)
	}

	cred := providers.Credential{
		Owned: providers.Owned{
			ID:        strconv.FormatInt(created.id, 10),
			Name:      created.name,
			GivenName: created.name,
			IssuedAt:  now.UTC().Truncate(time.Second),
			// GitLab's answer is the real expiry; what was asked for is the fallback.
			ExpiresAt: req.expires,
		},
		Username: created.username,
		Password: created.value,
	}
	if !created.expiresAt.IsZero() {
		cred.ExpiresAt = created.expiresAt
	}
	if p.kind != DeployToken {
		// A registry ignores the user name of an access token but wants one; the token's name
		// tells whoever reads a registry log which token pulled.
		cred.Username = created.name
	}
	p.log.InfoContext(ctx, "created GitLab token", "kind", string(p.kind), "token", cred.Name, "token_id", cred.ID,
		p.holderKind(), holder, "expires_at", cred.ExpiresAt)
	return cred, nil
}

// create asks GitLab for one new token, in the retry loop for what is safe to retry.
func (p *Provider) create(ctx context.Context, holder string, req createRequest) (token, error) {
	var created token
	err := p.do(ctx, "create", notIdempotent, func(ctx context.Context) error {
		var err error
		created, err = p.tokens.create(ctx, holder, req)
		return err
	})
	return created, err
}

// limitDate finds the date in GitLab's "Expiration date must be before 2027-11-30" (older
// versions: "Expires at must be before …"): the last expiry date the instance allows.
var limitDate = regexp.MustCompile(`must be before (\d{4}-\d{2}-\d{2})`)

// instanceDateLimit reads the date GitLab names when it refuses an expiry date, and says
// whether asking for it instead is right: it lies at most one day before the date asked for,
// which is what the instance's time zone can account for (UTC-12 to UTC+14). A larger gap is
// the instance's lifetime limit, which the configured lifetime must respect instead.
func instanceDateLimit(err error, asked time.Time) (time.Time, bool) {
	apiErr := asAPIError(err)
	if apiErr == nil || apiErr.Status != http.StatusBadRequest {
		return time.Time{}, false
	}
	m := limitDate.FindStringSubmatch(apiErr.Message)
	if m == nil {
		return time.Time{}, false
	}
	d, perr := time.Parse(time.DateOnly, m[1])
	if perr != nil || !d.Before(asked) || asked.Sub(d) > day {
		return time.Time{}, false
	}
	return d, true
}

// createRefused: GitLab's 400 "User does not have permission to create … access token".
func createRefused(err error) bool {
	apiErr := asAPIError(err)
	return apiErr != nil && apiErr.Status == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(apiErr.Message), "does not have permission to create")
}

// checkCreated makes sure the token GitLab created can be used and found again.
func (p *Provider) checkCreated(req createRequest, t token) error {
	switch {
	case t.id <= 0:
		return errors.New("GitLab answered without a token id")
	case t.value == "":
		return errors.New("GitLab answered without the token's value, which it never gives again")
	case t.name != req.name:
		return fmt.Errorf("GitLab named the token %q, not %q: the rotator could not recognise it later", t.name, req.name)
	case !slices.Contains(t.scopes, readRegistry):
		return fmt.Errorf("GitLab created the token with scopes %v, without %s", t.scopes, readRegistry)
	case p.kind == DeployToken && t.username == "":
		return errors.New("GitLab answered without the deploy token's username, which a registry login needs")
	}
	return nil
}
