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
func (d *Doctor) credentialLink(ctx context.Context, cp containerPull, w walk, fc fixCtx) Finding {
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
		return d.refused(ctx, pe, w, fc)
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
		return d.refused(ctx, pe, w, fc)
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
	f := d.refused(ctx, pe2, w, fc)
	f.Explanation += " (The probe from this machine could not tell: " + pe.Error() + ".)"
	return f
}

// refused is RegistryRefused for the credential kubelet used, with the rotator's and the
// provider's view when the rotator manages it.
func (d *Doctor) refused(ctx context.Context, pe *verify.PullError, w walk, fc fixCtx) Finding {
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
	facts := d.managedFacts(ctx, w.usedSecret, cred, fc.image, pe.Reason == verify.ReasonDenied)
	f.Explanation += " The rotator's view: " + strings.Join(facts, "; ") + ". A rotation issues a new credential, writes it everywhere and restarts the workloads that use it."
	f.Fix = []string{rotate(cred)}
	return f
}
