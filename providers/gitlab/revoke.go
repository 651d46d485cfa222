package gitlab

import (
	"context"
	"fmt"
	"strconv"

	"github.com/rotatorhq/rotator/providers"
)

// Revoke deletes the token with this id (decimal, as in Credential.ID): a deploy token is
// destroyed, an access token revoked. A token already gone (GitLab's 404 for the token) or
// already revoked is not an error; any other 404 (the project or group, or a path that matched
// no route, as behind a proxy decoding %2F) is. Revoke first reads the token and refuses, with
// ErrNotOwned, to delete one whose name does not carry spec.NamePrefix: the rotator never
// touches tokens it did not create.
func (p *Provider) Revoke(ctx context.Context, spec providers.Spec, id string) error {
	holder, err := checkSpec(spec, false)
	if err != nil {
		return err
	}
	tid, err := strconv.ParseInt(id, 10, 64)
	if err != nil || tid <= 0 {
		return fmt.Errorf("gitlab: revoke token %q: not a GitLab token id (a positive integer)", id)
	}
	c := call{
		what:      fmt.Sprintf("gitlab: read %s %d of %s %q", p.kindName(), tid, p.holderKind(), holder),
		holder:    holder,
		forbidden: p.neededRole(holder),
		notFound:  p.notFound(holder),
	}
	var t token
	err = p.do(ctx, "get", idempotent, func(ctx context.Context) error {
		var err error
		t, err = p.tokens.get(ctx, holder, tid)
		return err
	})
	if p.tokenGone(asAPIError(err)) {
		return nil
	}
	if err != nil {
		return p.explain(c, err)
	}
	if _, ok := owns(spec.NamePrefix, t.name); !ok {
		return fmt.Errorf("gitlab: refusing to delete %s %d %q of %s %q: credential %q owns only tokens whose names start with %q: %w",
			p.kindName(), tid, t.name, p.holderKind(), holder, spec.Credential, spec.NamePrefix, ErrNotOwned)
	}
	if t.revoked && p.kind != DeployToken {
		return nil
	}
	return p.deleteToken(ctx, holder, tid, t.name)
}

// deleteToken deletes (or revokes) a token; one already gone is not an error.
func (p *Provider) deleteToken(ctx context.Context, holder string, id int64, name string) error {
	c := call{
		what:      fmt.Sprintf("gitlab: delete %s %d %q of %s %q", p.kindName(), id, name, p.holderKind(), holder),
		holder:    holder,
		forbidden: p.neededRole(holder),
		notFound:  p.notFound(holder),
	}
	err := p.do(ctx, "delete", idempotent, func(ctx context.Context) error {
		return p.tokens.delete(ctx, holder, id)
	})
	if p.tokenGone(asAPIError(err)) {
		err = nil
	}
	if err != nil {
		return p.explain(c, err)
	}
	p.log.InfoContext(ctx, "deleted GitLab token", "kind", string(p.kind), "token", name, "token_id", id, p.holderKind(), holder)
	return nil
}
