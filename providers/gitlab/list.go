package gitlab

import (
	"context"
	"fmt"
	"strconv"

	"github.com/rotatorhq/rotator/providers"
)

// listMaxPages stops a GitLab that keeps sending pages: 100,000 tokens in one project or group
// means something is wrong, and a partial list must not pass for a complete one.
const listMaxPages = 1000

// List returns the tokens the rotator created for spec: those of its project or group whose
// names start with spec.NamePrefix followed by the generated suffix. It follows GitLab's pages
// (X-Next-Page) to the last one. Revoked access tokens are left out: GitLab keeps listing them
// but they can be neither used nor deleted again.
func (p *Provider) List(ctx context.Context, spec providers.Spec) ([]providers.Owned, error) {
	holder, err := checkSpec(spec, false)
	if err != nil {
		return nil, err
	}
	c := call{
		what:      fmt.Sprintf("gitlab: list the %ss of %s %q", p.kindName(), p.holderKind(), holder),
		holder:    holder,
		forbidden: p.neededRole(holder),
		notFound:  p.notFound(holder),
	}
	var owned []providers.Owned
	for page := int64(1); ; {
		var (
			ts   []token
			next int64
		)
		err := p.do(ctx, "list", idempotent, func(ctx context.Context) error {
			var err error
			ts, next, err = p.tokens.list(ctx, holder, page)
			return err
		})
		if err != nil {
			return nil, p.explain(c, err)
		}
		for _, t := range ts {
			issued, ok := owns(spec.NamePrefix, t.name)
			if !ok || (t.revoked && p.kind != DeployToken) {
				continue
			}
			if !t.createdAt.IsZero() {
				issued = t.createdAt
			}
			owned = append(owned, providers.Owned{
				ID: strconv.FormatInt(t.id, 10), Name: t.name, GivenName: t.name, IssuedAt: issued, ExpiresAt: t.expiresAt, Disabled: t.revoked,
			})
		}
		switch {
		case next == 0:
			return owned, nil
		case next <= page:
			return nil, fmt.Errorf("%s: GitLab sent page %d after page %d: giving up rather than looping", c.what, next, page)
		case next > listMaxPages:
			return nil, fmt.Errorf("%s: more than %d pages of tokens: giving up rather than returning a partial list", c.what, listMaxPages)
		}
		page = next
	}
}
