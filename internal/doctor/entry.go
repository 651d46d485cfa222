package doctor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// entryLink checks the entry kubelet tries first: kubelet tries the others only when that one
// fails at the registry, so a broken entry is the cause unless a later one is sound.
func (d *Doctor) entryLink(w walk, checks []secretCheck, candidates []pullsecret.Candidate, fc fixCtx) walk {
	errOf := map[string]error{}
	for _, sc := range checks {
		errOf[sc.name] = sc.err
		if sc.secret != nil && w.usedSecret == nil && sc.name == candidates[0].Source {
			w.usedSecret = sc.secret
		}
	}
	first := candidates[0]
	w.used = &first
	if !pullsecret.LiteralMatch(first.Key, fc.host) {
		w.warnings = append(w.warnings, Finding{
			Code: AuthsKeyNotPortable, Severity: SeverityWarning, Secret: first.Source, Key: first.Key,
			Summary: fmt.Sprintf("auths key %q of secret %q matches %s in kubelet only", first.Key, first.Source, fc.host),
			Explanation: fmt.Sprintf("kubelet ignores a scheme and /v1/ or /v2/, matches host globs and treats a path as a prefix, so %q serves %s. "+
				"Docker, containerd's own registry configuration and most other tools (image updaters, scanners, crane) look the key up literally and would find nothing: write the bare host %q.",
				first.Key, fc.image, pullsecret.SecretKey(fc.host)),
			Fix: fc.recreateSecret(first.Source),
		})
	}
	var broken *pullsecret.Error
	for i, c := range candidates {
		errs := entryErrors(errOf[c.Source], c.Key)
		if len(errs) == 0 {
			if i > 0 && broken != nil {
				return w // kubelet falls back to this sound entry
			}
			break
		}
		if broken == nil {
			broken = errs[0]
		}
	}
	if broken == nil {
		return w
	}
	f := Finding{Severity: SeverityError, Secret: first.Source, Key: first.Key, Credential: managedBy(w.usedSecret),
		Fix: append(fc.recreateSecret(first.Source), fc.restart()...)}
	switch {
	case errors.Is(broken, pullsecret.ErrAuthMismatch):
		f.Code = AuthFieldMismatch
		f.Summary = fmt.Sprintf("entry %q of secret %q: the auth field disagrees with username/password", first.Key, first.Source)
		f.Explanation = "kubelet (and Docker) use the auth field, base64(username:password), and ignore the username and password fields when it is present; " +
			"here they differ (" + broken.Msg + "), so kubelet sends a credential other than the one the fields show. Recreate the secret so all three agree."
	default:
		f.Code = SecretMalformed
		f.Summary = fmt.Sprintf("entry %q of secret %q has no usable credential", first.Key, first.Source)
		f.Explanation = fmt.Sprintf("%s: %s.", broken.Kind, broken.Msg)
	}
	if f.Credential != "" {
		f.Explanation += fmt.Sprintf(" The secret is managed by rotator credential %q: a rotation rewrites it.", f.Credential)
		f.Fix = []string{rotate(f.Credential)}
	}
	w.cause = &f
	return w
}

// noMatchFinding: every secret is readable, and no key matches the image by kubelet's rules.
func noMatchFinding(kr pullsecret.Keyring, checks []secretCheck, fc fixCtx) Finding {
	var keys []string
	for _, c := range kr.Candidates() {
		keys = append(keys, fmt.Sprintf("%q in %s: %s", c.Key, c.Source, pullsecret.MismatchReason(c.Key, fc.image)))
	}
	var skipped []string
	for _, sc := range checks {
		collect(sc.err, func(e *pullsecret.Error) {
			if errors.Is(e, pullsecret.ErrInvalidKey) {
				skipped = append(skipped, fmt.Sprintf("%q in %s", e.Key, sc.name))
			}
		})
	}
	target := checks[0]
	f := Finding{
		Code: NoMatchingAuthsKey, Severity: SeverityError, Secret: target.name, Credential: managedBy(target.secret),
		Summary: fmt.Sprintf("no auths key of the pod's pull secrets matches registry %s by kubelet's rules", fc.host),
		Fix:     append(fc.recreateSecret(target.name), fc.restart()...),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kubelet looks up %s: a key must have the same host (globs match one label each), exactly the same port (none counts as a port), and a path that is a prefix of the image's; ", fc.image)
	if len(keys) == 0 {
		b.WriteString("the secrets hold no usable key.")
	} else {
		b.WriteString("keys present: " + strings.Join(keys, "; ") + ".")
	}
	if len(skipped) > 0 {
		b.WriteString(" Skipped by kubelet as unreadable: " + strings.Join(skipped, ", ") + ".")
	}
	fmt.Fprintf(&b, " With no match kubelet pulls without credentials. Write the key %q.", pullsecret.SecretKey(fc.host))
	f.Explanation = b.String()
	if f.Credential != "" {
		f.Explanation += fmt.Sprintf(" The secret is managed by rotator credential %q, which writes the key of its registryHost: set it to %q.", f.Credential, fc.host)
		f.Fix = []string{
			fmt.Sprintf("# in %s set registryHost: %s for credential %s, then:", PlaceholderConfig, fc.host, f.Credential),
			rotate(f.Credential),
		}
	}
	return f
}

func legacyWarning(name string) Finding {
	return Finding{
		Code: LegacySecretType, Severity: SeverityWarning, Secret: name,
		Summary: fmt.Sprintf("pull secret %q has the legacy type kubernetes.io/dockercfg", name),
		Explanation: "kubelet still reads it (key .dockercfg, entries without the \"auths\" wrapper), but tools that read pull secrets " +
			"(image updaters, scanners, go-containerregistry's keychains used outside kubelet) increasingly expect kubernetes.io/dockerconfigjson; recreate it in that format.",
	}
}
