package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/verify"
)

// Doctor diagnoses failing image pulls. Only Kube is required.
type Doctor struct {
	// Kube reads pods, Events, Secrets, ServiceAccounts and workloads; nothing is written.
	Kube kubernetes.Interface
	// Probe also pulls each image's manifest with the pod's pull secrets, as kubelet would
	// (Checker.PullCheckAsKubelet), and asks the providers of rotator-managed credentials. It
	// contacts registries and providers, so it is off unless asked for.
	Probe   bool
	Checker verify.Checker
	// Clock tells expiries; nil means the real clock.
	Clock clock.PassiveClock
	// StateNamespace holds the rotator's state Secrets, read for rotator-managed secrets; empty
	// skips that.
	StateNamespace string
	// Credentials are the rotator's configured credentials by name, for provider look-ups.
	Credentials map[string]ManagedCredential
}

func (d *Doctor) now() time.Time {
	if d.Clock == nil {
		return time.Now()
	}
	return d.Clock.Now()
}

// Diagnose reads the pods of t and says, for each container, whether its image pull works and,
// when not, the first broken link with its fix. An error means the doctor could not read what
// it needs (errors.Is(err, ErrTarget) for a bad target); problems found are in the Report.
func (d *Doctor) Diagnose(ctx context.Context, t Target) (*Report, error) {
	pods, err := d.pods(ctx, t)
	if err != nil {
		return nil, err
	}
	red := newRedactor()
	v := newView(d.Kube, t.Namespace, red)
	var events []corev1.Event
	if failing(pods) {
		if events, err = v.events(ctx); err != nil {
			return nil, err
		}
	}
	rep := &Report{Namespace: t.Namespace, Target: t.String(), Probed: d.Probe}
	for i := range pods {
		pr, err := d.diagnosePod(ctx, v, &pods[i], events)
		if err != nil {
			return nil, err
		}
		rep.Pods = append(rep.Pods, pr)
	}
	rep.scrub(red)
	rep.Healthy = rep.Problems() == 0
	return rep, nil
}

// failing reports whether some container of pods is failing to pull: only then are the
// namespace's Events worth listing.
func failing(pods []corev1.Pod) bool {
	for i := range pods {
		for _, cp := range containerPulls(&pods[i], nil) {
			if cp.Waiting != "" {
				return true
			}
		}
	}
	return false
}

func (d *Doctor) diagnosePod(ctx context.Context, v *view, pod *corev1.Pod, events []corev1.Event) (PodReport, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	pr := PodReport{Name: pod.Name, Owner: d.owner(ctx, pod), ServiceAccount: sa, Phase: string(pod.Status.Phase)}
	for _, cp := range containerPulls(pod, events) {
		fc := fixCtx{ns: pod.Namespace, pod: pod.Name, container: cp.Name, owner: pr.Owner, sa: sa, image: cp.Image}
		cr := ContainerReport{Name: cp.Name, Image: cp.Image, Init: cp.Init, Waiting: cp.Waiting, Class: cp.Class, Message: cp.Message}
		host, err := pullsecret.ImageHost(cp.Image)
		if err != nil {
			cr.Cause = Finding{Code: PullFailed, Severity: SeverityError,
				Summary:     fmt.Sprintf("image reference %q is not valid", cp.Image),
				Explanation: "kubelet cannot parse the image reference, so it pulls nothing; the pull secret is not the problem.",
				Fix:         []string{fc.setImage()}}
			if cp.Waiting == "" {
				cr.Cause.Severity = SeverityWarning
			}
			pr.Containers = append(pr.Containers, cr)
			continue
		}
		fc.host = host
		if err := d.diagnoseContainer(ctx, v, pod, cp, fc, &cr); err != nil {
			return PodReport{}, err
		}
		pr.Containers = append(pr.Containers, cr)
	}
	return pr, nil
}

// diagnoseContainer fills cr's Cause and Warnings.
func (d *Doctor) diagnoseContainer(ctx context.Context, v *view, pod *corev1.Pod, cp containerPull, fc fixCtx, cr *ContainerReport) error {
	w, err := d.chain(ctx, v, pod, fc)
	if err != nil {
		return err
	}
	cr.Warnings = w.warnings

	switch {
	case cp.Waiting == "":
		return d.notFailing(ctx, cp, w, fc, cr)
	case cp.Waiting == ReasonInvalidImageName:
		cr.Cause = Finding{Code: PullFailed, Severity: SeverityError,
			Summary:     fmt.Sprintf("kubelet refuses image reference %q", cp.Image),
			Explanation: "InvalidImageName: kubelet pulls nothing, so the pull secret is not the problem. " + cp.Message,
			Fix:         []string{fc.setImage()}}
		cr.Warnings = append(cr.Warnings, namedWarnings(w)...)
		return nil
	case !credentialClass(cp.Class):
		cr.Cause = notCredential(cp, fc)
		cr.Warnings = append(cr.Warnings, namedWarnings(w)...)
		return nil
	case w.cause != nil:
		cr.Cause = *w.cause
		cr.Cause.Explanation = strings.TrimSpace(cr.Cause.Explanation + " " + retryNote(cp.Waiting))
		return nil
	}
	f := d.credentialLink(ctx, cp, w, fc)
	f.Explanation = strings.TrimSpace(f.Explanation + " " + retryNote(cp.Waiting))
	cr.Cause = f
	return nil
}

// notFailing: the container is running (or not yet pulled). Broken links of secrets it names
// are warnings; with Probe a credential the registry now refuses is an error, because the next
// pod (rollout, reschedule) will not start.
func (d *Doctor) notFailing(ctx context.Context, cp containerPull, w walk, fc fixCtx, cr *ContainerReport) error {
	cr.Cause = Finding{Code: Healthy, Severity: SeverityOK, Summary: "no pull failure: the container is not pulled yet"}
	if cp.Pulled {
		cr.Cause.Summary = "the image was pulled"
	}
	cr.Warnings = append(cr.Warnings, namedWarnings(w)...)
	if !d.Probe || w.used == nil || w.cause != nil {
		return nil
	}
	err := d.Checker.PullCheckAsKubelet(ctx, cp.Image, w.secrets)
	var pe *verify.PullError
	if err == nil {
		cr.Cause.Summary, cr.Cause.Probed = cr.Cause.Summary+", and the registry accepts the pull secret now", true
		return nil
	}
	if !errors.As(err, &pe) || (pe.Reason != verify.ReasonUnauthorized && pe.Reason != verify.ReasonDenied) {
		cr.Warnings = append(cr.Warnings, Finding{Code: PullFailed, Severity: SeverityWarning, Probed: true,
			Summary: "the probe could not pull: " + err.Error()})
		return nil
	}
	f := d.refused(ctx, pe, w, fc)
	f.Summary = "the container runs, but a new pod would fail: " + f.Summary
	cr.Cause = f
	return nil
}

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

// notCredential is the finding of a failure the pull secret cannot cause.
func notCredential(cp containerPull, fc fixCtx) Finding {
	said := "kubelet said: " + orNothing(cp.Message) + "."
	switch cp.Class {
	case ClassMissingImage:
		return Finding{Code: ImageNotFound, Severity: SeverityError,
			Summary: fmt.Sprintf("registry %s says %s does not exist", fc.host, fc.image),
			Explanation: "The registry answered the pull with \"not found\" (manifest or repository unknown): it was reached over TLS and did not refuse the credential, " +
				"so the pull secret is not the problem. Check the repository and the tag (a registry may also hide a repository the credential cannot see). " + said,
			Fix: []string{"# point the container at an image that exists:", fc.setImage()}}
	case ClassTLS:
		return Finding{Code: RegistryTLS, Severity: SeverityError,
			Summary: fmt.Sprintf("the node does not trust registry %s's TLS certificate", fc.host),
			Explanation: "The TLS handshake with the registry failed before any request was made, so the registry never saw a credential: the pull secret is not the problem. " +
				"The certificate is signed by a CA the node's container runtime does not trust, does not name the host, or the registry speaks plain http. " + said,
			Fix: []string{
				fmt.Sprintf("# on every node, trust the registry's CA: containerd reads /etc/containerd/certs.d/%s/hosts.toml (ca = \"/path/ca.crt\")", fc.host),
				"# or, if the host in the image is wrong:",
				fc.setImage(),
			}}
	case ClassNetwork:
		return Finding{Code: RegistryUnreachable, Severity: SeverityError,
			Summary: fmt.Sprintf("the node cannot reach registry %s", fc.host),
			Explanation: "Name resolution, the connection or the response timed out or was refused: no registry answered, so no credential was checked and the pull secret is not the problem. " +
				"Check the host and port in the image, DNS, and firewalls or proxies between the node and the registry. " + said,
			Fix: []string{"# if the host or port in the image is wrong:", fc.setImage()}}
	}
	return Finding{Code: PullFailed, Severity: SeverityError, Summary: "the pull fails: " + orNothing(cp.Message), Explanation: said}
}

// asWarnings turns a broken link into a warning when it does not explain the failure.
func asWarnings(f *Finding) []Finding {
	if f == nil {
		return nil
	}
	w := *f
	w.Severity = SeverityWarning
	return []Finding{w}
}

// namedWarnings are the broken links of the secrets a pod names, as warnings, when something
// else explains its state. A pod that names none needs none for a public image: not a warning.
func namedWarnings(w walk) []Finding {
	if !w.named {
		return nil
	}
	return asWarnings(w.cause)
}

// retryNote explains the waiting reason.
func retryNote(waiting string) string {
	switch waiting {
	case ReasonErrImagePull:
		return "(ErrImagePull: the last pull just failed; kubelet retries after a back-off and reads the pull secrets again then.)"
	case ReasonImagePullBackOff:
		return "(ImagePullBackOff: kubelet waits before the next pull, 10 s doubling up to 5 min; a fixed secret is read at the next retry, a new pod retries at once.)"
	}
	return ""
}

func orNothing(s string) string {
	if s == "" {
		return "(no message; the Events may have expired)"
	}
	return fmt.Sprintf("%q", s)
}
