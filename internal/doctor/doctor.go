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
	// Kube reads pods, Events, ServiceAccounts and workloads, and Secrets where it may (it asks
	// first, with a SelfSubjectAccessReview); nothing is written.
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
	// Cluster is the fleet member Kube reaches ("" for the rotator's own cluster). A member
	// holds none of the rotator's state: it is read through StateKube, under
	// "<credential>.<cluster>", and the report names the member.
	Cluster string
	// StateKube reads the state Secrets in StateNamespace: the rotator's own cluster; nil: Kube.
	StateKube kubernetes.Interface
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
	rep := &Report{Namespace: t.Namespace, Target: t.String(), Probed: d.Probe, Pods: []PodReport{}}
	for i := range pods {
		pr, err := d.diagnosePod(ctx, v, &pods[i], events)
		if err != nil {
			return nil, err
		}
		rep.Pods = append(rep.Pods, pr)
	}
	rep.scrub(red)
	rep.inCluster(d.Cluster)
	rep.Healthy = rep.Problems() == 0
	rep.Limited = rep.limited()
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
		v.take()
		if err := d.diagnoseContainer(ctx, v, pod, cp, fc, &cr); err != nil {
			return PodReport{}, err
		}
		cr.NotChecked = v.take()
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
		return d.notFailing(ctx, v, cp, w, fc, cr)
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
	f := d.credentialLink(ctx, v, cp, w, fc)
	f.Explanation = strings.TrimSpace(f.Explanation + " " + retryNote(cp.Waiting))
	cr.Cause = f
	return nil
}

// notFailing: the container is running (or not yet pulled). Broken links of secrets it names
// are warnings; with Probe a credential the registry now refuses is an error, because the next
// pod (rollout, reschedule) will not start.
func (d *Doctor) notFailing(ctx context.Context, v *view, cp containerPull, w walk, fc fixCtx, cr *ContainerReport) error {
	cr.Cause = Finding{Code: Healthy, Severity: SeverityOK, Summary: "no pull failure: the container is not pulled yet"}
	if cp.Pulled {
		cr.Cause.Summary = "the image was pulled"
	}
	cr.Warnings = append(cr.Warnings, namedWarnings(w)...)
	if d.Probe && len(w.unread) > 0 {
		nc := probeDenied(fc.ns)
		v.note(&nc)
	}
	if !d.Probe || w.used == nil || w.cause != nil || len(w.unread) > 0 {
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
	f := d.refused(ctx, v, pe, w, fc)
	f.Summary = "the container runs, but a new pod would fail: " + f.Summary
	cr.Cause = f
	return nil
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
