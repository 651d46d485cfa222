package gitlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/providers"
)

// namePrefixRE keeps the rotator's token names plain: letters, digits, '.', '_' and '-'.
var namePrefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// maxPrefix leaves room for the generated suffix within GitLab's 255-character names.
const maxPrefix = 200

// nameTimeLayout stamps a token name with its creation time (UTC): GitLab does not report when
// a deploy token was created, and the name is where the rotator reads a token's age from (to
// tell an orphan from a token a concurrent run just issued).
const nameTimeLayout = "20060102t150405"

// generatedSuffix is what newTokenName appends to the prefix.
// The rotation core (providers.Spec.Name) adds the installation's tag.
var generatedSuffix = regexp.MustCompile(`^([0-9]{8}t[0-9]{6})-[0-9a-f]{4}(-[0-9a-f]{8})?$`)

// tokenName is the name to create a token with: the core's choice when it made one (it has
// recorded it, to find this exact token after a crash), else a new one.
func tokenName(spec providers.Spec, now time.Time) (string, error) {
	if spec.Name == "" {
		return newTokenName(spec.NamePrefix, now), nil
	}
	if _, ok := owns(spec.NamePrefix, spec.Name); !ok {
		return "", fmt.Errorf("gitlab: credential %q: token name %q does not start with the prefix %q followed by a generated suffix", spec.Credential, spec.Name, spec.NamePrefix)
	}
	return spec.Name, nil
}

// checkSpec validates what every call needs from spec and returns the project or group the
// tokens belong to. All problems are reported at once.
func checkSpec(spec providers.Spec, needLifetime bool) (string, error) {
	var problems []error
	if err := checkNamePrefix(spec.NamePrefix); err != nil {
		problems = append(problems, err)
	}
	switch {
	case len(spec.Projects) != 1:
		problems = append(problems, fmt.Errorf("want exactly one project or group (gitlab.project or gitlab.group), got %d", len(spec.Projects)))
	case strings.TrimSpace(spec.Projects[0]) == "":
		problems = append(problems, errors.New("the project or group is empty"))
	}
	if needLifetime {
		if err := checkLifetime(spec.Lifetime); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("gitlab: credential %q: %w", spec.Credential, errors.Join(problems...))
	}
	return strings.Trim(spec.Projects[0], "/"), nil
}

// checkNamePrefix makes sure the prefix can tell the rotator's tokens from all others.
func checkNamePrefix(prefix string) error {
	switch {
	case prefix == "":
		return errors.New("token name prefix (gitlab.tokenNamePrefix) is empty: the rotator would take every token for its own")
	case len(prefix) > maxPrefix:
		return fmt.Errorf("token name prefix (gitlab.tokenNamePrefix) is longer than %d characters", maxPrefix)
	case !namePrefixRE.MatchString(prefix):
		return fmt.Errorf("token name prefix (gitlab.tokenNamePrefix) %q: use letters, digits, '.', '_' and '-', "+
			"starting with a letter or digit (e.g. \"rotator-gitlab-main-\")", prefix)
	}
	return nil
}

// newTokenName returns prefix + the UTC time + a short random suffix, so two tokens issued in
// the same second for the same spec still get different names.
func newTokenName(prefix string, now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return prefix + now.UTC().Format(nameTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// owns says whether a token with this name was created by the rotator for a spec with this
// prefix, and returns the creation time its name holds. The generated suffix must follow the
// prefix directly: with prefix "rotator-a-", the tokens of a credential "a-b"
// ("rotator-a-b-2026…") are not ours.
func owns(prefix, name string) (time.Time, bool) {
	suffix, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return time.Time{}, false
	}
	m := generatedSuffix.FindStringSubmatch(suffix)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(nameTimeLayout, m[1])
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
