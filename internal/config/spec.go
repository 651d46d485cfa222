package config

import (
	"fmt"

	"github.com/rotatorhq/rotator/providers"
)

// ProviderSpec is what the credential asks of its provider: the projects to pull from, the name
// prefix the rotator owns, the lifetime. The pipeline and the doctor use the same one.
func (c *Credential) ProviderSpec() providers.Spec {
	s := providers.Spec{
		Credential:  c.Name,
		Lifetime:    c.Lifetime.Duration,
		Description: fmt.Sprintf("pull-only credential issued by rotator for %s; do not edit, rotator rotates and deletes it", c.Name),
	}
	switch {
	case c.Provider == "harbor" && c.Harbor != nil:
		s.NamePrefix, s.Projects = c.Harbor.RobotNamePrefix, c.Harbor.Projects
	case c.Provider == "gitlab" && c.GitLab != nil:
		s.NamePrefix, s.Projects = c.GitLab.TokenNamePrefix, []string{c.GitLab.Holder()}
	}
	return s
}
