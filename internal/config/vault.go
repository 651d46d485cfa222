package config

import (
	"net/url"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Vault is how the rotator reaches HashiCorp Vault, for secrets read from it (SecretRef.Vault)
// and credentials written back to it (Credential.WriteBack).
type Vault struct {
	// Address of Vault, e.g. https://vault.example.com:8200.
	Address string `json:"address"`
	// Namespace is sent as X-Vault-Namespace (Vault Enterprise, HCP Vault). Empty: none.
	Namespace string `json:"namespace,omitempty"`
	// CAFile is a PEM bundle trusted for Vault's TLS certificate in addition to the system's.
	CAFile string `json:"caFile,omitempty"`
	// Auth says how the rotator logs in; exactly one method is set.
	Auth VaultAuth `json:"auth"`
}

// VaultAuth holds exactly one login method.
type VaultAuth struct {
	Token      *VaultTokenAuth      `json:"token,omitempty"`
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`
	AppRole    *VaultAppRoleAuth    `json:"appRole,omitempty"`
}

// VaultTokenAuth uses a token given to the rotator, read again at each login so that a token
// file kept fresh by Vault Agent is followed.
type VaultTokenAuth struct {
	// Env is the variable holding the token (default VAULT_TOKEN when File is empty).
	Env string `json:"env,omitempty"`
	// File holds the token (trailing newline trimmed).
	File string `json:"file,omitempty"`
}

// VaultKubernetesAuth logs in with the pod's ServiceAccount token (Vault's kubernetes auth).
type VaultKubernetesAuth struct {
	// Role is the Vault role bound to the rotator's ServiceAccount. Required.
	Role string `json:"role"`
	// TokenFile is the projected ServiceAccount token, read again at each login because the
	// kubelet rotates it. (default /var/run/secrets/kubernetes.io/serviceaccount/token)
	TokenFile string `json:"tokenFile,omitempty"`
	// Mount of the auth method. (default kubernetes)
	Mount string `json:"mount,omitempty"`
}

// VaultAppRoleAuth logs in with an AppRole role id and a secret id read from a file.
type VaultAppRoleAuth struct {
	RoleID string `json:"roleId"`
	// SecretIDFile holds the secret id, read again at each login.
	SecretIDFile string `json:"secretIdFile"`
	// Mount of the auth method. (default approle)
	Mount string `json:"mount,omitempty"`
}

// VaultRef is a key of a KV version 2 secret. Path is either the API path including the mount
// and "data" (secret/data/rotator/harbor), or, with Mount set, the path below the mount
// (mount: secret, path: rotator/harbor). Without Mount, the mount is found by asking Vault.
type VaultRef struct {
	Mount string `json:"mount,omitempty"`
	Path  string `json:"path"`
	// Key within the secret's data, e.g. password.
	Key string `json:"key"`
	// Version pins a version of the secret; 0 reads the latest.
	Version int `json:"version,omitempty"`
}

// WriteBack is a KV version 2 secret that receives each credential the rotator issues (registry,
// username, password, expires_at, credential_id), so that clients outside the cluster (CI jobs)
// pull with it too. Path and Mount are read as in VaultRef.
type WriteBack struct {
	Mount string `json:"mount,omitempty"`
	Path  string `json:"path"`
}

// Defaults of the Vault login methods.
const (
	DefaultVaultTokenEnv       = "VAULT_TOKEN"
	DefaultKubernetesTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	DefaultKubernetesAuthMount = "kubernetes"
	DefaultAppRoleAuthMount    = "approle"
)

func defaultVault(v *Vault) {
	if v == nil {
		return
	}
	if t := v.Auth.Token; t != nil && t.Env == "" && t.File == "" {
		t.Env = DefaultVaultTokenEnv
	}
	if k := v.Auth.Kubernetes; k != nil {
		if k.TokenFile == "" {
			k.TokenFile = DefaultKubernetesTokenFile
		}
		if k.Mount == "" {
			k.Mount = DefaultKubernetesAuthMount
		}
	}
	if a := v.Auth.AppRole; a != nil && a.Mount == "" {
		a.Mount = DefaultAppRoleAuthMount
	}
}

func validateVault(v *Vault, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v.Address == "" {
		errs = append(errs, field.Required(p.Child("address"), "e.g. https://vault.example.com:8200"))
	} else if u, err := url.Parse(v.Address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		errs = append(errs, field.Invalid(p.Child("address"), redactURL(v.Address), "must be an http(s) URL without credentials, such as https://vault.example.com:8200"))
	}
	a, ap := v.Auth, p.Child("auth")
	n := 0
	for _, set := range []bool{a.Token != nil, a.Kubernetes != nil, a.AppRole != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(ap, "set one of token, kubernetes or appRole"))
	case n > 1:
		errs = append(errs, field.Invalid(ap, "several methods", "set only one of token, kubernetes or appRole"))
	}
	if t := a.Token; t != nil && t.Env != "" && t.File != "" {
		errs = append(errs, field.Invalid(ap.Child("token"), "env and file", "set only one of env or file"))
	}
	if k := a.Kubernetes; k != nil && k.Role == "" {
		errs = append(errs, field.Required(ap.Child("kubernetes", "role"), "the Vault role bound to the rotator's ServiceAccount"))
	}
	if r := a.AppRole; r != nil {
		if r.RoleID == "" {
			errs = append(errs, field.Required(ap.Child("appRole", "roleId"), "the AppRole's role id"))
		}
		if r.SecretIDFile == "" {
			errs = append(errs, field.Required(ap.Child("appRole", "secretIdFile"), "a file holding the AppRole's secret id"))
		}
	}
	return errs
}

func validateVaultRef(r *VaultRef, p *field.Path) field.ErrorList {
	errs := validateVaultPath(r.Mount, r.Path, p)
	if r.Key == "" {
		errs = append(errs, field.Required(p.Child("key"), "the key within the secret's data, e.g. password"))
	}
	if r.Version < 0 {
		errs = append(errs, field.Invalid(p.Child("version"), r.Version, "a version number, or 0 for the latest"))
	}
	return errs
}

func validateVaultPath(mount, path string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case path == "":
		errs = append(errs, field.Required(p.Child("path"), "e.g. secret/data/rotator/harbor, or rotator/harbor with mount: secret"))
	case strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.Contains(path, "//"):
		errs = append(errs, field.Invalid(p.Child("path"), path, "a path such as secret/data/rotator/harbor, without leading, trailing or double slashes"))
	case mount == "" && !strings.Contains(path, "/"):
		errs = append(errs, field.Invalid(p.Child("path"), path, "name the mount too (secret/data/"+path+") or set mount"))
	}
	if strings.HasPrefix(mount, "/") || strings.Contains(mount, "//") {
		errs = append(errs, field.Invalid(p.Child("mount"), mount, "a mount path such as secret"))
	}
	return errs
}

// validateVaultUse checks what only the whole config can tell: a Vault reference or a write-back
// needs the top-level vault section. It walks the config by reflection so that a secret field
// added later (a GitLab token) is covered without being listed here.
func validateVaultUse(c *Config) field.ErrorList {
	if c.Vault != nil {
		return nil
	}
	var errs field.ErrorList
	need := func(p *field.Path) {
		errs = append(errs, field.Required(field.NewPath("vault"), "needed by "+p.String()+": set vault.address and vault.auth"))
	}
	walkSecretRefs(reflect.ValueOf(c).Elem(), nil, func(r *SecretRef, p *field.Path) {
		if r.Vault != nil {
			need(p.Child("vault"))
		}
	})
	for i := range c.Credentials {
		if c.Credentials[i].WriteBack != nil {
			need(field.NewPath("credentials").Index(i).Child("writeBack"))
		}
	}
	return errs
}

var secretRefType = reflect.TypeOf(SecretRef{})

// walkSecretRefs calls fn for every SecretRef reachable from v, with its path in JSON names.
func walkSecretRefs(v reflect.Value, p *field.Path, fn func(*SecretRef, *field.Path)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecretRefs(v.Elem(), p, fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkSecretRefs(v.Index(i), p.Index(i), fn)
		}
	case reflect.Struct:
		if v.Type() == secretRefType {
			if v.CanAddr() {
				fn(v.Addr().Interface().(*SecretRef), p)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				name = f.Name
			}
			walkSecretRefs(v.Field(i), p.Child(name), fn)
		}
	}
}

// redactURL keeps credentials that were put into a URL out of error messages: the whole
// userinfo goes, since a token is as often given as the user name (https://TOKEN@host) as as
// the password. An unparsable value is not echoed at all: it may hold anything.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}
