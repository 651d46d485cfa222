// Package gitlabdouble is an HTTP server that behaves as GitLab does for the part of GitLab the
// rotator uses: project and group deploy tokens, project and group access tokens (REST API v4),
// the container registry's token realm /jwt/auth, and a /v2/ front for a real registry. It exists
// for integration tests and `make demo`; it is never part of the rotator binary.
//
// Behaviour follows GitLab's source (gitlabhq: lib/api/deploy_tokens.rb,
// lib/api/resource_access_tokens.rb, app/models/deploy_token.rb, lib/gitlab/auth.rb,
// app/policies) and the docs doc/api/deploy_tokens.md, project_access_tokens.md and
// group_access_tokens.md, including where GitLab surprises clients:
//
//   - a project or group is addressed by numeric id or by its URL-encoded full path
//     (/projects/group-a%2Fapp); a private one the caller cannot see answers 404, not 403;
//   - deploy tokens need the Maintainer role on a project and the Owner role on a group (403
//     otherwise); access tokens need Maintainer (project) or Owner (group), but GitLab answers a
//     list without that role with 401 and a create with 400 "User does not have permission";
//   - a deploy token's expires_at is a datetime, an access token's a date that ends at 00:00
//     UTC and may lie at most MaxTokenLifetimeDays after today in the instance's time zone
//     (Options.TimeZone; 400 "Expiration date must be before <date>");
//   - a project or group access token's user is a bot (User.Bot), and bots can never create
//     access tokens, only deploy tokens; gitlab.com plans (Options.Plan) and a switched-off
//     setting refuse access tokens with the same 400 "User does not have permission to create
//     … access token", a trial's second project token with "Access token limit reached";
//   - an expired or revoked admin token gets 401 {"error":"invalid_token",
//     "error_description":…}, one without the api scope 403 insufficient_scope; a missing
//     token is "404 Not found" (deploy token) or "404 project Access Token Not Found" (or
//     group), an unknown route {"error":"404 Not Found"}, which is also what a proxy that
//     decodes %2F produces (Options.ProxyDecodesEncodedSlashes);
//   - deleting a deploy token destroys it; deleting an access token revokes it (it stays listed,
//     revoked), and deleting it again answers 404;
//   - POST …/access_tokens/:id/rotate revokes the old token at once (the rotator never calls it);
//   - /jwt/auth ignores the user name of an access token (any non-empty name works) but wants the
//     deploy token's own user name; wrong credentials get 401, valid ones without access to a
//     repository get 200 and a token that grants nothing, so only a manifest request proves a
//     pull;
//   - list endpoints page with X-Page, X-Per-Page, X-Next-Page, X-Total, X-Total-Pages and Link;
//     429 answers carry Retry-After (Rack::Attack's plain "Retry later", or the application
//     rate limiter's {"message":{"error":…}}, FaultRateLimited);
//   - GET /personal_access_tokens/self and GET /user describe the admin token and its user.
//
// Where the double is stricter than GitLab it says so in the error message.
package gitlabdouble
