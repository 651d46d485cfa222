// Package harbordouble is an HTTP server that behaves as Harbor v2.0 does for the part of
// Harbor the rotator uses: projects (read only), robot accounts v2, the registry token service
// and the /v2/ registry front. It exists for integration tests and `make demo`; it is never part
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
//     validation error as is.
//
// Where the double is stricter than Harbor it says so in the error message: a JSON body with an
// unknown field is refused (422), because a client that sends one has a bug Harbor would hide.
package harbordouble
