package harbor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rotatorhq/rotator/providers"
)

// robotNameRE is Harbor's rule for the name given at creation (handler/robot.go validateName).
var robotNameRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// nameTimeLayout stamps a robot name with its creation time (UTC), so an admin can read the age
// of a robot from its name and names sort by age.
const nameTimeLayout = "20060102t150405"

// checkSpec validates what every call needs from spec and returns its projects without
// duplicates. All problems are reported at once.
func checkSpec(spec providers.Spec) ([]string, error) {
	var problems []error
	if err := checkNamePrefix(spec.NamePrefix); err != nil {
		problems = append(problems, err)
	}
	var projects []string
	for i, p := range spec.Projects {
		switch {
		case p == "":
			problems = append(problems, fmt.Errorf("projects[%d] is empty", i))
		case !slices.Contains(projects, p):
			projects = append(projects, p)
		}
	}
	if len(spec.Projects) == 0 {
		problems = append(problems, errors.New("no projects: a Harbor credential needs at least one project to pull from"))
	}
	if spec.Lifetime < 0 {
		problems = append(problems, fmt.Errorf("lifetime %s is negative: use 0 for a robot that never expires", spec.Lifetime))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("harbor: credential %q: %w", spec.Credential, errors.Join(problems...))
	}
	return projects, nil
}

// checkNamePrefix makes sure every name built from prefix is one Harbor accepts, and that the
// prefix can tell the rotator's robots from all others.
func checkNamePrefix(prefix string) error {
	if prefix == "" {
		return errors.New("robot name prefix (robotNamePrefix) is empty: the rotator would take every robot for its own")
	}
	sample := prefix + "20060102t150405-0a1b"
	if !robotNameRE.MatchString(sample) {
		return fmt.Errorf("robot name prefix (robotNamePrefix) %q makes robot names like %q, which Harbor rejects: "+
			"use lower-case letters and digits, separated by single '.', '_' or '-', starting with a letter or digit "+
			"(e.g. \"rotator-harbor-main-\")", prefix, sample)
	}
	return nil
}

// newRobotName returns prefix + the UTC time + a short random suffix, so two robots issued in the
// same second for the same spec still get different names.
func (p *Provider) newRobotName(prefix string) string {
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return prefix + p.now().UTC().Format(nameTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// splitName splits a robot's full name as Harbor reports it into the project ("" for a system
// robot) and the name given at creation: "robot$proj+name" or "robot$name". ok is false when the
// name does not start with the Harbor's robot prefix.
func (p *Provider) splitName(full string) (project, name string, ok bool) {
	rest, ok := strings.CutPrefix(full, p.robotPrefix)
	if !ok {
		return "", "", false
	}
	// Neither a project name nor a robot name may contain '+', so the first one is the separator.
	if project, name, isProject := strings.Cut(rest, "+"); isProject {
		return project, name, true
	}
	return "", rest, true
}

// owns says whether the robot with this full name was created by the rotator for a spec with
// this prefix and these projects: its given name starts with the prefix and, for a project robot,
// its project is one of the spec's. System robots are accepted whatever the number of projects
// now in the spec, so robots issued before a change of the project list can still be revoked.
func (p *Provider) owns(prefix string, projects []string, full string) bool {
	project, name, ok := p.splitName(full)
	if !ok {
		return false
	}
	// The generated suffix must follow the prefix directly: with prefix "rotator-a-", the robots
	// of a credential "a-b" ("rotator-a-b-2026...") are not ours.
	suffix, ok := strings.CutPrefix(name, prefix)
	if !ok || !generatedSuffix.MatchString(suffix) {
		return false
	}
	return project == "" || slices.Contains(projects, project)
}

// generatedSuffix is what newRobotName, or the rotation core (providers.Spec.Name), appends to
// the prefix: the time, a random part and, from the core, the installation's tag.
var generatedSuffix = regexp.MustCompile(`^[0-9]{8}t[0-9]{6}-[0-9a-f]{4}(-[0-9a-f]{8})?$`)

// givenName is the name to create a robot with: the core's choice when it made one (it has
// recorded it, to find this exact robot after a crash), else a new one.
func (p *Provider) givenName(spec providers.Spec) (string, error) {
	if spec.Name == "" {
		return p.newRobotName(spec.NamePrefix), nil
	}
	suffix, ok := strings.CutPrefix(spec.Name, spec.NamePrefix)
	if !ok || !generatedSuffix.MatchString(suffix) {
		return "", fmt.Errorf("harbor: credential %q: robot name %q does not start with the prefix %q followed by a generated suffix", spec.Credential, spec.Name, spec.NamePrefix)
	}
	return spec.Name, nil
}

// quoteList renders names for messages: "a", "b".
func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}
