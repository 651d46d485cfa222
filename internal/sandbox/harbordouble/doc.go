// Package harbordouble is an HTTP server that behaves as Harbor v2.0 does for the part of
// Harbor the rotator uses: projects (read only), robot accounts v2, the robot_name_prefix and
// read_only settings, the registry token service and the /v2/ registry front. It exists for integration tests and `make demo`; it is never part
// of the rotator binary.
//
// Behaviour follows Harbor's source (goharbor/harbor, src/server/v2.0/handler/robot.go,
// src/controller/robot, src/core/service/token, src/lib/q) and the swagger of
// github.com/goharbor/go-client, including the places where Harbor surprises clients:
//
//   - a refreshed robot's old secret stops working at once;
//   - the token service answers 200 with an empty access claim to a wrong password, an
//     expired, disabled or deleted robot as long as a scope is asked for (goharbor/harbor#11632,
//     "working as designed"); only a docker-login style request without scope gets 401. So a
//     token proves nothing: only a manifest request proves a pull;
//   - the secret of a RobotCreate body and its disable flag are ignored: Harbor always
//     generates the secret on create; only a refresh (PATCH) accepts a chosen one;
//   - the q parameter of a list is URL-unescaped once more on the server, so a '+' inside it
//     must reach the server as %2B (send %252B) or it becomes a space;
//   - errors found while binding the request (malformed JSON, wrong content type, a path or
//     query parameter of the wrong type, page_size over 100) answer 422 UNPROCESSABLE_ENTITY
//     with "validation failure list:", not 400, because Harbor serves go-swagger's composite
//     validation error as is;
//   - robot_name_prefix (Options.RobotPrefix, SetRobotPrefix, PUT /configurations) is added when
//     a robot is read: changing it renames every robot at once, list and get show the new
//     names, and the old usernames stop working. Only the create answer's name tells a caller
//     the prefix;
//   - q=Name=~x matches the stored name, "<project>+<name>" or "<name>", without the prefix;
//     q=Level=project without ProjectID is 400; before 2.13 q=Level=system lists project robots
//     too (goharbor/harbor#21118);
//   - robots as creators depend on Options.Version: below 2.12 a robot cannot hold robot
//     permissions (400) nor manage robots (403); from 2.12 a robot with robot:create may create
//     robots no wider than itself, the effect compared literally ("" is not "allow"); on
//     2.12.0–2.14.0 a system robot creating a project robot gets 403 (goharbor/harbor#21406,
//     #21922). A system-level robot needs the admin or a robot with system robot permissions;
//   - a failed login (a robot's wrong secret included) locks that name for 1.5 s, against the
//     right password too, and its own answer comes 1.5 s late (Options.Sleep);
//   - users other than the admin (Options.Users) are system admins or project admins of some
//     projects; GET /users/current answers a robot 412, as Harbor does;
//   - in oidc_auth mode (Options.AuthMode) basic auth of users other than the admin works only
//     on /v2/ and /service/token: the API answers them 401, at once;
//   - in read-only mode (SetReadOnly) every write answers 403 DENIED;
//   - a public project (Options.PublicProjects, SetProjectPublic) gives pull to anyone: the token
//     service grants it to an anonymous caller, so a wrong password still pulls;
//   - /v2/ is authorised by the double before it proxies: a request without a token granting
//     its action gets 401 with the challenge, a missing project included; a pull policy
//     (SetProjectPolicy) then answers a manifest GET or HEAD 412 PROJECTPOLICYVIOLATION (HEAD
//     without body); a missing tag answers 404 NOT_FOUND in Harbor's shape. Unlike Harbor, the
//     double takes only bearer tokens at /v2/ (no basic auth) and forwards them to the registry.
//
// Where the double is stricter than Harbor it says so in the error message: a JSON body with an
// unknown field is refused (422), because a client that sends one has a bug Harbor would hide.
package harbordouble
