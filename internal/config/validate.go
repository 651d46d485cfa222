package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// maxCredentialName keeps per-credential annotation keys (rotator.dev/fp-<name>) within
// Kubernetes' 63-character limit for the name part of a key.
const maxCredentialName = 40

var robotPrefixPattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*[._-]?$`)

// Validate returns every problem of c, each with its path. It expects Default to have run.
func Validate(c *Config) field.ErrorList {
	var errs field.ErrorList
	root := field.NewPath("")
	errs = append(errs, validateDNSLabel(c.StateNamespace, root.Child("stateNamespace"))...)
	k := field.NewPath("kubernetes")
	if c.Kubernetes.QPS < 0 {
		errs = append(errs, field.Invalid(k.Child("qps"), c.Kubernetes.QPS, "must be positive"))
	}
	if c.Kubernetes.Burst < 0 {
		errs = append(errs, field.Invalid(k.Child("burst"), c.Kubernetes.Burst, "must be positive"))
	}
	if c.Kubernetes.Concurrency < 0 {
		errs = append(errs, field.Invalid(k.Child("concurrency"), c.Kubernetes.Concurrency, "must be positive"))
	}
	errs = append(errs, validatePacing(&c.Kubernetes, k)...)
	errs = append(errs, validateClusters(c)...)
	creds := field.NewPath("credentials")
	if len(c.Credentials) == 0 {
		errs = append(errs, field.Required(creds, "at least one credential"))
	}
	seen := map[string]bool{}
	for i := range c.Credentials {
		p := creds.Index(i)
		cr := &c.Credentials[i]
		if seen[cr.Name] && cr.Name != "" {
			errs = append(errs, field.Duplicate(p.Child("name"), cr.Name))
		}
		seen[cr.Name] = true
		errs = append(errs, validateCredential(cr, p)...)
		if cr.WriteBack != nil {
			errs = append(errs, validateVaultPath(cr.WriteBack.Mount, cr.WriteBack.Path, p.Child("writeBack"))...)
		}
	}
	if c.Vault != nil {
		errs = append(errs, validateVault(c.Vault, field.NewPath("vault"))...)
	}
	errs = append(errs, validateNotifications(&c.Notifications, field.NewPath("notifications"))...)
	errs = append(errs, validateVaultUse(c)...)
	errs = append(errs, validateAllWindows(c)...)
	return errs
}

func validateCredential(cr *Credential, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDNSLabel(cr.Name, p.Child("name"))...)
	if len(cr.Name) > maxCredentialName {
		errs = append(errs, field.TooLong(p.Child("name"), cr.Name, maxCredentialName))
	}
	switch cr.Provider {
	case "harbor":
		if cr.Harbor == nil {
			errs = append(errs, field.Required(p.Child("harbor"), "provider harbor needs a harbor section"))
		} else {
			errs = append(errs, validateHarbor(cr.Harbor, p.Child("harbor"))...)
		}
	case "gitlab":
		errs = append(errs, validateGitLabCredential(cr, p)...)
	case "":
		errs = append(errs, field.Required(p.Child("provider"), "one of: harbor, gitlab"))
	default:
		errs = append(errs, field.NotSupported(p.Child("provider"), cr.Provider, []string{"harbor", "gitlab"}))
	}
	if cr.RegistryHost != "" {
		if _, _, err := pullsecret.CanonicalHost(cr.RegistryHost); err != nil {
			errs = append(errs, field.Invalid(p.Child("registryHost"), cr.RegistryHost, err.Error()))
		}
	}
	errs = append(errs, validateDuration(cr.Lifetime, p.Child("lifetime"))...)
	errs = append(errs, validateDuration(cr.RevokeAfter, p.Child("revokeAfter"))...)
	errs = append(errs, validateRenewal(cr, p)...)
	for j, img := range cr.VerifyImages {
		if strings.TrimSpace(img) == "" || strings.Contains(img, "://") {
			errs = append(errs, field.Invalid(p.Child("verifyImages").Index(j), img, "an image reference such as harbor.example.com/project/app:tag"))
		}
	}
	errs = append(errs, validateTargets(&cr.Targets, p.Child("targets"))...)
	errs = append(errs, validateRestart(&cr.Restart, p.Child("restart"))...)
	return errs
}

func validateHarbor(h *Harbor, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.URL == "" {
		errs = append(errs, field.Required(p.Child("url"), "e.g. https://harbor.example.com"))
	} else if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		errs = append(errs, field.Invalid(p.Child("url"), redactURL(h.URL), "must be an http(s) URL without credentials (they go in username and passwordFrom), such as https://harbor.example.com"))
	}
	if h.Username == "" {
		errs = append(errs, field.Required(p.Child("username"), "the Harbor admin or a robot allowed to create robots"))
	}
	errs = append(errs, validateSecretRef(h.PasswordFrom, p.Child("passwordFrom"))...)
	if len(h.Projects) == 0 {
		errs = append(errs, field.Required(p.Child("projects"), "at least one Harbor project to pull from"))
	}
	for j, pr := range h.Projects {
		if !robotPrefixPattern.MatchString(pr) || strings.HasSuffix(pr, "-") {
			errs = append(errs, field.Invalid(p.Child("projects").Index(j), pr, "not a Harbor project name"))
		}
	}
	if h.RobotNamePrefix != "" && !robotPrefixPattern.MatchString(h.RobotNamePrefix) {
		errs = append(errs, field.Invalid(p.Child("robotNamePrefix"), h.RobotNamePrefix,
			"Harbor robot names are lower-case letters and digits separated by '.', '_' or '-'"))
	}
	if h.CAFile != "" && h.InsecureSkipVerify {
		errs = append(errs, field.Invalid(p.Child("insecureSkipVerify"), true, "set either caFile or insecureSkipVerify, not both"))
	}
	return errs
}

func validateTargets(t *Targets, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.SecretName == "" {
		errs = append(errs, field.Required(p.Child("secretName"), "name of the pull Secret in each namespace"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(t.SecretName) {
			errs = append(errs, field.Invalid(p.Child("secretName"), t.SecretName, msg))
		}
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == "" {
		errs = append(errs, field.Required(p.Child("namespaces"), "list namespaces and/or set namespaceSelector"))
	}
	for j, ns := range t.Namespaces {
		errs = append(errs, validateDNSLabel(ns, p.Child("namespaces").Index(j))...)
	}
	for j, ns := range t.ExcludeNamespaces {
		errs = append(errs, validateDNSLabel(ns, p.Child("excludeNamespaces").Index(j))...)
	}
	if t.NamespaceSelector != "" {
		if _, err := labels.Parse(t.NamespaceSelector); err != nil {
			errs = append(errs, field.Invalid(p.Child("namespaceSelector"), t.NamespaceSelector, err.Error()))
		}
	}
	for j, sa := range t.ServiceAccounts {
		for _, msg := range validation.IsDNS1123Subdomain(sa) {
			errs = append(errs, field.Invalid(p.Child("serviceAccounts").Index(j), sa, msg))
		}
	}
	return errs
}

func validateSecretRef(r SecretRef, p *field.Path) field.ErrorList {
	n := 0
	for _, set := range []bool{r.Env != "", r.File != "", r.Vault != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return field.ErrorList{field.Required(p, "set env (a variable name), file (a path) or vault (a KV v2 secret)")}
	case n > 1:
		return field.ErrorList{field.Invalid(p, "several sources", "set only one of env, file or vault")}
	}
	if r.Vault != nil {
		return validateVaultRef(r.Vault, p.Child("vault"))
	}
	return nil
}

func validateDuration(d Duration, p *field.Path) field.ErrorList {
	if d.err != nil {
		return field.ErrorList{field.Invalid(p, d.raw, d.err.Error())}
	}
	if d.Duration < 0 {
		return field.ErrorList{field.Invalid(p, d.raw, "must not be negative")}
	}
	return nil
}

func validateDNSLabel(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// ParseRenewBefore reads "30%" (a fraction of the credential's lifetime) or a duration.
func ParseRenewBefore(s string) (fraction float64, d time.Duration, err error) {
	if pct, ok := strings.CutSuffix(strings.TrimSpace(s), "%"); ok {
		n, err := strconv.ParseFloat(pct, 64)
		if err != nil || n <= 0 || n >= 100 {
			return 0, 0, fmt.Errorf("a percentage between 0 and 100 (exclusive), e.g. 30%%")
		}
		return n / 100, 0, nil
	}
	d, err = ParseDuration(s)
	if err != nil {
		return 0, 0, err
	}
	if d <= 0 {
		// Due only once expired: pulls would fail until the next check renews it.
		return 0, 0, fmt.Errorf("must be positive (a credential would be renewed only once expired), e.g. 7d or 30%%")
	}
	return 0, d, nil
}
