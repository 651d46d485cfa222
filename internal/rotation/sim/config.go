package sim

import (
	"fmt"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// The simulated registry and the names every cluster of a world shares.
const (
	registryHost   = "harbor.example.com"
	stateNamespace = "rotator-system"
	// selectorLabel selects target namespaces besides the explicit list.
	selectorLabel = "rotator.dev/pull"
	// pullerSA is the ServiceAccount credential "main" binds its secret to.
	pullerSA = "puller"
)

// explicitNamespaces are listed by name in the config; a deleted one is a target that does not
// exist (the core must report it and go on).
var explicitNamespaces = []string{"team-a", "team-b"}

// credSpec is what the simulation knows about each configured credential: the image whose pull
// proves a secret of it works (its project's one image that always exists).
type credSpec struct {
	name, secretName, project, image string
}

var credSpecs = []credSpec{
	{name: "main", secretName: "pull-main", project: "app", image: registryHost + "/app/web:1"},
	{name: "extra", secretName: "pull-extra", project: "tools", image: registryHost + "/tools/cli:1"},
}

func specOf(credential string) credSpec {
	for _, s := range credSpecs {
		if s.name == credential {
			return s
		}
	}
	panic("sim: unknown credential " + credential)
}

// simConfig is the config both clusters run with: two Harbor credentials on one registry, the
// default robot prefix (shared by both clusters), explicit namespaces plus a selector, and every
// fan-out sequential so that a seed replays call for call.
func simConfig() (*config.Config, error) {
	cred := func(s credSpec) config.Credential {
		c := config.Credential{
			Name:     s.name,
			Provider: "harbor",
			Harbor: &config.Harbor{
				URL:          "https://" + registryHost,
				Username:     "admin",
				PasswordFrom: config.SecretRef{Env: "SIM_HARBOR_PASSWORD"},
				Projects:     []string{s.project},
			},
			// A week, so that the schedule's clock jumps reach renewals and expiries.
			Lifetime: config.NewDuration(7 * 24 * time.Hour),
			Targets: config.Targets{
				SecretName:        s.secretName,
				Namespaces:        explicitNamespaces,
				NamespaceSelector: selectorLabel + "=yes",
			},
			Restart: config.Restart{Concurrency: 1},
		}
		if s.name == "main" {
			c.Targets.ServiceAccounts = []string{pullerSA}
		} else {
			// The simulated workloads run no pods, so under the default IfNeeded nothing restarts:
			// policy Always keeps the restart phase (and its crash points) in the schedules.
			c.Restart.Policy = config.RestartAlways
		}
		return c
	}
	c := &config.Config{
		StateNamespace: stateNamespace,
		Kubernetes:     config.Kubernetes{Concurrency: 1},
	}
	for _, s := range credSpecs {
		c.Credentials = append(c.Credentials, cred(s))
	}
	config.Default(c)
	if errs := config.Validate(c); len(errs) > 0 {
		return nil, fmt.Errorf("sim: the simulation's config does not validate: %w", errs.ToAggregate())
	}
	return c, nil
}

// credential returns the config credential named name.
func credential(c *config.Config, name string) *config.Credential {
	for i := range c.Credentials {
		if c.Credentials[i].Name == name {
			return &c.Credentials[i]
		}
	}
	panic("sim: unknown credential " + name)
}
