package config

import (
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxClusterName keeps "<credential>.<cluster>" state names and lease names short.
const maxClusterName = 32

// validateClusters checks the fleet: names, one access source each, and that every
// credential's targets.clusters names a known cluster.
func validateClusters(c *Config) field.ErrorList {
	var errs field.ErrorList
	known := map[string]bool{LocalCluster: true}
	root := field.NewPath("clusters")
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		p := root.Index(i)
		errs = append(errs, validateDNSLabel(cl.Name, p.Child("name"))...)
		switch {
		case cl.Name == LocalCluster:
			errs = append(errs, field.Invalid(p.Child("name"), cl.Name, `"local" is the rotator's own cluster: it needs no entry here`))
		case len(cl.Name) > maxClusterName:
			errs = append(errs, field.TooLong(p.Child("name"), cl.Name, maxClusterName))
		case known[cl.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), cl.Name))
		}
		known[cl.Name] = true
		switch {
		case cl.KubeconfigFrom == nil && cl.KubeconfigSecret == nil:
			errs = append(errs, field.Required(p.Child("kubeconfigFrom"), "set kubeconfigFrom (file, env or vault) or kubeconfigSecret (a Secret in the rotator's namespace)"))
		case cl.KubeconfigFrom != nil && cl.KubeconfigSecret != nil:
			errs = append(errs, field.Invalid(p, "both", "set only one of kubeconfigFrom and kubeconfigSecret"))
		case cl.KubeconfigFrom != nil:
			errs = append(errs, validateSecretRef(*cl.KubeconfigFrom, p.Child("kubeconfigFrom"))...)
		default:
			for _, msg := range validation.IsDNS1123Subdomain(cl.KubeconfigSecret.Name) {
				errs = append(errs, field.Invalid(p.Child("kubeconfigSecret", "name"), cl.KubeconfigSecret.Name, msg))
			}
		}
	}
	for i := range c.Credentials {
		p := field.NewPath("credentials").Index(i).Child("targets", "clusters")
		seen := map[string]bool{}
		for j, name := range c.Credentials[i].Targets.Clusters {
			switch {
			case !known[name]:
				errs = append(errs, field.NotFound(p.Index(j), name))
			case seen[name]:
				errs = append(errs, field.Duplicate(p.Index(j), name))
			}
			seen[name] = true
		}
	}
	return errs
}

// TargetClusters are the clusters cred targets: Targets.Clusters, or the rotator's own.
func (cr *Credential) TargetClusters() []string {
	if len(cr.Targets.Clusters) == 0 {
		return []string{LocalCluster}
	}
	return cr.Targets.Clusters
}

// Cluster returns the fleet member named name (nil for LocalCluster or an unknown name).
func (c *Config) Cluster(name string) *Cluster {
	for i := range c.Clusters {
		if c.Clusters[i].Name == name {
			return &c.Clusters[i]
		}
	}
	return nil
}
