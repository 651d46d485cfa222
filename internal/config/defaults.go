package config

import "time"

// DefaultStateNamespace is stateNamespace when the config does not set it (and the namespace
// `rotator status` reads without a config).
const DefaultStateNamespace = "rotator-system"

// Default fills every unset field with its default. All defaults live here.
func Default(c *Config) {
	if c.StateNamespace == "" {
		c.StateNamespace = DefaultStateNamespace
	}
	if c.Kubernetes.QPS == 0 {
		c.Kubernetes.QPS = 200
	}
	if c.Kubernetes.Burst == 0 {
		c.Kubernetes.Burst = 400
	}
	if c.Kubernetes.Concurrency == 0 {
		c.Kubernetes.Concurrency = 10
	}
	defaultPacing(&c.Kubernetes)
	defaultVault(c.Vault)
	defaultNotifications(&c.Notifications)
	for i := range c.Clusters {
		if ks := c.Clusters[i].KubeconfigSecret; ks != nil && ks.Key == "" {
			ks.Key = "value"
		}
	}
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if !cr.Lifetime.IsSet() {
			cr.Lifetime = NewDuration(30 * 24 * time.Hour)
		}
		if cr.RenewBefore == "" {
			cr.RenewBefore = "30%"
		}
		if !cr.RevokeAfter.IsSet() {
			cr.RevokeAfter = NewDuration(time.Hour)
		}
		defaultRestart(&cr.Restart)
		if h := cr.Harbor; h != nil && h.RobotNamePrefix == "" && cr.Name != "" {
			h.RobotNamePrefix = "rotator-" + cr.Name + "-"
		}
		defaultGitLab(cr)
	}
}
