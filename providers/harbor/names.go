package harbor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

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

// A robot's full name, as Harbor shows it, is its stored name behind Harbor's robot_name_prefix:
// "<prefix><project>+<given>" for a project robot, "<prefix><given>" for a system robot. The
// prefix is a Harbor setting that may be anything and may change at any time (Harbor adds it
// when it reads a robot, so a change renames every robot at once); the rotator is never told
// it. So names are split without it: neither a project nor a given name may contain '+', and a
// given name of the rotator's is the spec's NamePrefix followed by a generated suffix.

// ownedGiven says whether r is a robot the rotator created for a spec with this name prefix and
// these projects, and returns the name it was given at creation. A project robot must be of
// project level, hold its one permission on one of the spec's projects and be named
// "…<project>+<given>"; a system robot must be of system level. System robots are accepted
// whatever the number of projects now in the spec, so robots issued before a change of the
// project list can still be revoked. The level is checked here, not trusted to the query:
// before 2.13 Harbor lists project robots for q=Level=system (goharbor/harbor#21118).
func (p *Provider) ownedGiven(prefix string, projects []string, r *models.Robot) (string, bool) {
	switch r.Level {
	case levelProject:
		if len(r.Permissions) != 1 || r.Permissions[0] == nil || !slices.Contains(projects, r.Permissions[0].Namespace) {
			return "", false
		}
		i := strings.LastIndex(r.Name, "+")
		if i < 0 || !strings.HasSuffix(r.Name[:i], r.Permissions[0].Namespace) {
			return "", false
		}
		if given := r.Name[i+1:]; isGenerated(prefix, given) {
			return given, true
		}
		return "", false
	case levelSystem:
		return p.systemGiven(prefix, r.Name)
	}
	return "", false
}

// isGenerated says whether given is prefix followed directly by a generated suffix: with prefix
// "rotator-a-", the robots of a credential "a-b" ("rotator-a-b-2026...") are not ours.
func isGenerated(prefix, given string) bool {
	suffix, ok := strings.CutPrefix(given, prefix)
	return ok && generatedSuffix.MatchString(suffix)
}

// systemGiven finds the given name inside a system robot's full name. When the name starts with
// a robot prefix the provider knows (seen in a create answer, the configured hint, Harbor's
// default), the rest is the given name, or the robot is not ours: "robot$x-rotator-a-…" is
// another credential's. Otherwise the prefix changed since: the given name is the longest
// tail that is prefix + a generated suffix. (A new prefix that starts with a known one, such
// as "robot" becoming "robot-", is taken for the known one: such robots are then not
// recognised and are left for an admin, never someone else's deleted.)
func (p *Provider) systemGiven(prefix, full string) (string, bool) {
	matched := false
	for _, known := range p.knownPrefixes() {
		rest, ok := strings.CutPrefix(full, known)
		if !ok {
			continue
		}
		if isGenerated(prefix, rest) {
			return rest, true
		}
		matched = true
	}
	if matched {
		return "", false
	}
	for i := 0; i+len(prefix) <= len(full); i++ {
		j := strings.Index(full[i:], prefix)
		if j < 0 {
			break
		}
		i += j
		if isGenerated(prefix, full[i:]) {
			return full[i:], true
		}
	}
	return "", false
}

// knownPrefixes are the robot prefixes to try first, the latest seen first.
func (p *Provider) knownPrefixes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []string{}
	for _, c := range []string{p.seenPrefix, p.hintPrefix, DefaultRobotPrefix} {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// learnPrefix records the robot prefix a create answer showed.
func (p *Provider) learnPrefix(prefix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seenPrefix = prefix
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
