package harbordouble

import (
	"fmt"
	"strconv"
	"strings"
)

// version is a Harbor release, major.minor.patch. What the double does differently per release:
//
//   - below 2.12 a robot holds no robot permissions (robot:create etc. are not in Harbor's
//     policy map), so a robot can never manage robots;
//   - from 2.12.0 up to 2.14.0 a system robot creating a project robot gets 403
//     (goharbor/harbor#21406, #21922; fixed in 2.14.1);
//   - below 2.13 q=Level=system also lists project robots (goharbor/harbor#21118).
type version [3]int

func parseVersion(s string) (version, error) {
	var v version
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q is not vMAJOR.MINOR.PATCH, e.g. v2.13.5", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q is not vMAJOR.MINOR.PATCH, e.g. v2.13.5", s)
		}
		v[i] = n
	}
	return v, nil
}

// atLeast reports whether v is maj.min.patch or later.
func (v version) atLeast(maj, minor, patch int) bool {
	o := version{maj, minor, patch}
	for i := range v {
		if v[i] != o[i] {
			return v[i] > o[i]
		}
	}
	return true
}

// robotsManageRobots: Harbor 2.12 added the robot resource to the robot permission policies.
func (v version) robotsManageRobots() bool { return v.atLeast(2, 12, 0) }

// systemRobotCreatesProjectRobot is false on the releases with goharbor/harbor#21406.
func (v version) systemRobotCreatesProjectRobot() bool {
	return !v.robotsManageRobots() || v.atLeast(2, 14, 1)
}

// systemLevelListsOnlySystem is false before the fix of goharbor/harbor#21118.
func (v version) systemLevelListsOnlySystem() bool { return v.atLeast(2, 13, 0) }
