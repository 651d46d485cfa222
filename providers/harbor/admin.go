package harbor

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/systeminfo"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/user"
)

// robotOp is a robot management call, for the hint of its 403.
type robotOp struct {
	action   string   // "create", "list", "read", "delete"
	level    string   // levelProject or levelSystem; "" when not known (read or delete by id)
	projects []string // the spec's projects
}

// gerund names the action in a hint: "creating".
func (op robotOp) gerund() string {
	switch op.action {
	case "create":
		return "creating"
	case "list":
		return "listing"
	case "read":
		return "reading"
	case "delete":
		return "deleting"
	}
	return "managing"
}

// harborVersion is a Harbor release, major.minor.patch; the zero value is unknown.
type harborVersion [3]int

// parseHarborVersion reads systeminfo's harbor_version, "v2.13.5-d1a0a5e7".
func parseHarborVersion(s string) (harborVersion, bool) {
	var v harborVersion
	s, _, _ = strings.Cut(strings.TrimPrefix(s, "v"), "-")
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil {
			return harborVersion{}, false
		}
		v[i] = n
	}
	return v, true
}

func (v harborVersion) atLeast(maj, minor, patch int) bool {
	o := harborVersion{maj, minor, patch}
	for i := range v {
		if v[i] != o[i] {
			return v[i] > o[i]
		}
	}
	return true
}

func (v harborVersion) String() string { return fmt.Sprintf("v%d.%d.%d", v[0], v[1], v[2]) }

// identity is what the provider can find out about Harbor and its own admin identity when a
// call was refused: the release (systeminfo shows it to authenticated callers) and whether the
// identity is a robot account (GET /users/current answers a robot 412).
type identity struct {
	version      harborVersion
	versionKnown bool
	robot        bool
	robotKnown   bool
}

// whoAmI asks Harbor; what it cannot find out stays unknown. Two quick reads, made only to
// explain a refusal.
func (p *Provider) whoAmI(ctx context.Context) identity {
	var id identity
	if resp, err := p.system.GetSystemInfo(ctx, systeminfo.NewGetSystemInfoParams()); err == nil &&
		resp.Payload != nil && resp.Payload.HarborVersion != nil {
		id.version, id.versionKnown = parseHarborVersion(*resp.Payload.HarborVersion)
	}
	_, err := p.users.GetCurrentUserInfo(ctx, user.NewGetCurrentUserInfoParams())
	switch {
	case err == nil:
		id.robotKnown = true
	case isStatus(err, http.StatusPreconditionFailed):
		id.robot, id.robotKnown = true, true
	}
	return id
}

// robotsForbidden says exactly which identity may do op on this Harbor and what to grant:
//   - below 2.12 a robot account holds no robot permissions: only users can manage robots;
//   - from 2.12 a robot may create robots no wider than itself: it needs robot
//     create/list/read/delete and repository pull where the new robot gets it, with the same
//     effect (Harbor compares it literally);
//   - on 2.12.0–2.14.0 a system-level robot cannot create project robots (goharbor/harbor#21406,
//     #21922, fixed in 2.14.1);
//   - a system-level robot (several projects) needs the system admin role, or a robot with
//     system-level robot permissions: a project admin cannot create one.
func (p *Provider) robotsForbidden(ctx context.Context, op robotOp) string {
	if op.level == "" {
		op.level = levelProject
		if len(op.projects) > 1 {
			op.level = levelSystem
		}
	}
	id := p.whoAmI(ctx)
	ver := "this Harbor"
	if id.versionKnown {
		ver = "Harbor " + id.version.String()
	}
	projects := quoteList(op.projects)
	if id.robot && id.versionKnown && !id.version.atLeast(2, 12, 0) {
		use := fmt.Sprintf("a Harbor user with the project admin role in %s (or a system admin)", projects)
		if op.level == levelSystem {
			use = "a Harbor user with the system admin role"
		}
		return fmt.Sprintf("%q is a robot account, and %s (below 2.12) gives robot accounts no robot permissions: "+
			"use %s instead, or upgrade Harbor to 2.12 or later", p.user, ver, use)
	}
	if op.level == levelSystem {
		hint := fmt.Sprintf("%s system-level robots (used when a credential spans several projects, here %s) "+
			"needs the Harbor system admin role; a project admin cannot. A robot account (Harbor 2.12+) needs the "+
			"system-level robot create, list, read and delete permissions and repository pull on each of those projects", op.gerund(), projects)
		if id.robot {
			hint += fmt.Sprintf("; %q is a robot account: grant it those, or use a system admin user", p.user)
		}
		return capitalize(hint)
	}
	if !id.robot {
		hint := fmt.Sprintf("%s robots in project %s needs the project admin role there, or the Harbor system admin role", op.gerund(), projects)
		if id.robotKnown {
			hint += fmt.Sprintf(": give %q that role", p.user)
		}
		return capitalize(hint)
	}
	// A project robot's name holds its project and a '+'; a system-level robot's does not.
	systemLevel := !strings.Contains(p.user, "+")
	buggy := !id.versionKnown || (id.version.atLeast(2, 12, 0) && !id.version.atLeast(2, 14, 1))
	if op.action == "create" && systemLevel && buggy {
		return fmt.Sprintf("%q is a system-level robot account, and on Harbor 2.12.0 to 2.14.0 (this is %s) a system-level "+
			"robot cannot create project robots whatever it holds (goharbor/harbor#21406, #21922, fixed in 2.14.1): "+
			"use a project-level robot of %s holding robot create, list, read and delete and repository pull, "+
			"a user with the project admin role there, or upgrade Harbor to 2.14.1", p.user, ver, projects)
	}
	hint := fmt.Sprintf("%q is a robot account: in a permission on project %s it needs robot create, list, read and delete "+
		"and repository pull, each without an effect, as the rotator asks for them (Harbor compares the effect literally, "+
		"and a robot may grant only what it holds)", p.user, projects)
	return hint
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
