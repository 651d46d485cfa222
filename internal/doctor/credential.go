package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rotatorhq/rotator/internal/verify"
)

// credentialLink: every link up to the credential holds and kubelet reports an auth or
// permission failure (or one it did not explain). The registry is asked with Probe; otherwise
// kubelet's Event is the registry's answer.
func (d *Doctor) credentialLink(ctx context.Context, v *view, cp containerPull, w walk, fc fixCtx) Finding {
	if len(w.unread) > 0 {
		if d.Probe {
			nc := probeDenied(fc.ns)
			v.note(&nc)
		}
		return unreadFinding(cp, w, fc)
	}
	if !d.Probe {
		if cp.Class == ClassOther {
			return Finding{Code: PullFailed, Severity: SeverityError,
				Summary:     "the pull fails for a reason the doctor does not recognise; the pull secrets look right",
				Explanation: "kubelet said: " + orNothing(cp.Message) + ". Run the doctor with --probe to try the pull with the same secrets.",
				Fix:         fc.restart()}
		}
		pe := &verify.PullError{Image: cp.Image, Registry: fc.host, Reason: verify.ReasonUnauthorized, Detail: cp.Message}
		if cp.Class == ClassPermission {
			pe.Reason = verify.ReasonDenied
		}
		return d.refused(ctx, v, pe, w, fc)
	}
	err := d.Checker.PullCheckAsKubelet(ctx, cp.Image, w.secrets)
	if err == nil {
		return Finding{Code: PullSucceedsNow, Severity: SeverityError, Probed: true,
			Summary: "kubelet's pull failed, but a pull with the pod's secrets as they are now succeeds",
			Explanation: "The secrets were fixed after kubelet's last attempt (kubelet said: " + orNothing(cp.Message) + "). kubelet reads them again at its next retry; " +
				"a new pod retries at once.",
			Fix: fc.restart()}
	}
	var pe *verify.PullError
	if !errors.As(err, &pe) {
		pe = &verify.PullError{Image: cp.Image, Registry: fc.host, Reason: verify.ReasonOther, Detail: err.Error()}
	}
	switch pe.Reason {
	case verify.ReasonUnauthorized, verify.ReasonDenied:
		return d.refused(ctx, v, pe, w, fc)
	case verify.ReasonNotFound:
		f := notCredential(containerPull{Image: cp.Image, Class: ClassMissingImage, Message: pe.Error()}, fc)
		f.Probed = true
		return f
	}
	// The probe ran from here, not from the node: a TLS or network failure here says nothing
	// about kubelet's 401/403, so kubelet's answer stands.
	pe2 := &verify.PullError{Image: cp.Image, Registry: fc.host, Reason: verify.ReasonUnauthorized, Detail: cp.Message}
	if cp.Class == ClassPermission {
		pe2.Reason = verify.ReasonDenied
	}
	f := d.refused(ctx, v, pe2, w, fc)
	f.Explanation += " (The probe from this machine could not tell: " + pe.Error() + ".)"
	return f
}

// refused is RegistryRefused for the credential kubelet used, with the rotator's and the
// provider's view when the rotator manages it.
func (d *Doctor) refused(ctx context.Context, v *view, pe *verify.PullError, w walk, fc fixCtx) Finding {
	probed := pe.Key != "" // PullCheckAsKubelet sets it; a PullError built from kubelet's Event has none
	f := Finding{Code: RegistryRefused, Severity: SeverityError, Probed: probed}
	if w.used != nil {
		f.Secret, f.Key = w.used.Source, w.used.Key
	}
	what := "refuses the credential"
	if pe.Reason == verify.ReasonDenied {
		what = "accepts the credential but refuses it pull access to this repository"
	}
	f.Summary = fmt.Sprintf("registry %s %s from secret %q (key %q)", fc.host, what, f.Secret, f.Key)
	if probed {
		f.Explanation = "The pull secrets are read as kubelet reads them and the key matches; a pull with the credential kubelet would use failed: " + pe.Error() + "."
	} else {
		f.Explanation = "The pull secrets are read as kubelet reads them and the key matches, so the credential itself is refused: kubelet said " +
			orNothing(pe.Detail) + ". It is wrong, expired, revoked or lacks pull on the repository. Run with --probe to ask the registry with the secret as it is now."
	}
	cred := managedBy(w.usedSecret)
	if cred == "" {
		f.Explanation += " Create the secret again with a valid credential."
		f.Fix = append(fc.recreateSecret(f.Secret), fc.restart()...)
		return f
	}
	f.Credential = cred
	facts := d.managedFacts(ctx, v, w.usedSecret, cred, fc.image, pe.Reason == verify.ReasonDenied)
	f.Explanation += " The rotator's view: " + strings.Join(facts, "; ") + ". A rotation issues a new credential, writes it everywhere and restarts the workloads that use it."
	f.Fix = []string{rotate(cred)}
	return f
}

// unreadFinding: kubelet's pull fails on a credential question and the doctor may not read the
// pull secrets w.unread, so it says what the registry's answer allows and no more. A 403 comes
// after the registry authenticated the credential kubelet sent: the secret exists, its key
// matches, and only the credential's access is wrong, whatever the secret holds. A 401 (or an
// unexplained failure) leaves every link of the secrets open.
func unreadFinding(cp containerPull, w walk, fc fixCtx) Finding {
	names := quoteAll(w.unread)
	first := w.unread[0]
	said := "kubelet said: " + orNothing(cp.Message) + "."
	f := Finding{Severity: SeverityError, Secret: first, Fix: append(fc.recreateSecret(first), fc.restart()...)}
	switch cp.Class {
	case ClassPermission:
		f.Code = RegistryRefused
		f.Summary = fmt.Sprintf("registry %s accepts a credential of pull secret(s) %s but refuses it pull access to this repository", fc.host, names)
		f.Explanation = "A 403 (denied) comes after the registry authenticated the credential kubelet sent, so a pull secret exists and its key matches: the credential lacks pull on " +
			"the repository, or the project's policy refuses it. " + said + fmt.Sprintf(" The doctor may not read %s, so it cannot name the credential or ask the rotator about it (see notChecked). ", names) +
			"Give the credential pull on the repository's project, or create the secret again with one that has it."
	case ClassOther:
		f.Code = PullSecretNotChecked
		f.Summary = fmt.Sprintf("the pull fails without a registry answer, and the doctor could not read pull secret(s) %s to say why", names)
		f.Explanation = "kubelet fails every pull of a pod, before asking any registry, when one of its pull secrets cannot be decoded (an auth field that is not base64, " +
			"broken JSON: SecretMalformed); telling that needs the secret's contents, which this identity may not read (see notChecked). " + said
	default:
		f.Code = PullSecretNotChecked
		f.Summary = fmt.Sprintf("registry %s refuses the pull as unauthorized, and the doctor could not read pull secret(s) %s to say which link breaks", fc.host, names)
		f.Explanation = fmt.Sprintf("kubelet's Events name none of %s as missing (%s), so kubelet found them, and the registry still saw no credential it accepts. "+
			"In the order kubelet reads them, the secret has a type kubelet ignores (SecretWrongType, e.g. Opaque), holds its data under another key (SecretWrongKey, e.g. config.json), "+
			"is no document kubelet can use (SecretMalformed), has no auths key matching %s by kubelet's rules, port included (NoMatchingAuthsKey), has an auth field that disagrees "+
			"with its username and password (AuthFieldMismatch), or holds a credential that is wrong, expired or revoked (RegistryRefused). Each needs the secret's contents, "+
			"which this identity may not read (see notChecked). %s", names, reasonFailedToRetrieve, fc.host, said)
	}
	if f.Code == PullSecretNotChecked {
		f.Explanation += fmt.Sprintf(" Creating %q again with a valid credential mends any of these.", first)
	}
	f.Explanation += " If the rotator manages the secret (label rotator.dev/managed-by, which the doctor could not read either), run `rotator rotate now --credential NAME` instead: " +
		"the rotator does not overwrite a secret created by hand."
	return f
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
