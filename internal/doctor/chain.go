package doctor

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// walk is the outcome of following kubelet's chain for one image, up to the credential.
type walk struct {
	// cause is the first broken link; nil when the chain holds up to the credential, or when
	// the pod names no secret and none is needed (see named).
	cause    *Finding
	warnings []Finding
	// named is false when the pod names no pull secret (NoPullSecret or
	// PodPredatesServiceAccountBinding is then the cause).
	named bool
	// secrets are the pod's pull secrets that exist, in the pod's order: what kubelet reads.
	secrets []corev1.Secret
	// used is the credential kubelet tries first, and usedSecret its Secret.
	used       *pullsecret.Candidate
	usedSecret *corev1.Secret
	// unread are the pod's pull secrets the doctor may not read and kubelet did not report
	// missing: the links past them are not checked (credentialLink says so).
	unread []string
}

// chain follows the links from the pod to the entry kubelet would use for fc.image.
func (d *Doctor) chain(ctx context.Context, v *view, pod *corev1.Pod, fc fixCtx) (walk, error) {
	var names []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name != "" {
			names = append(names, ref.Name)
		}
	}
	if len(names) == 0 {
		return d.noNamedSecret(ctx, v, pod, fc)
	}
	w, err := d.secretsChain(ctx, v, pod, names, fc)
	w.named = true
	return w, err
}

// noNamedSecret: the pod names no pull secret. Admission copies the ServiceAccount's into a pod
// that names none when the pod is created, so either the ServiceAccount has none, or it got
// them after the pod was created.
func (d *Doctor) noNamedSecret(ctx context.Context, v *view, pod *corev1.Pod, fc fixCtx) (walk, error) {
	sa, err := v.serviceAccount(ctx, fc.sa)
	if err != nil {
		return walk{}, err
	}
	if sa != nil && len(sa.ImagePullSecrets) > 0 {
		var saNames []string
		for _, r := range sa.ImagePullSecrets {
			saNames = append(saNames, r.Name)
		}
		f := Finding{
			Code: PodPredatesServiceAccountBinding, Severity: SeverityError, ServiceAccount: fc.sa,
			Summary: fmt.Sprintf("ServiceAccount %s lists pull secret(s) %s, but the pod was created before and has none", fc.sa, strings.Join(saNames, ", ")),
			Explanation: fmt.Sprintf("The ServiceAccount admission plugin copies a ServiceAccount's imagePullSecrets into a pod only when the pod is created, "+
				"and only when the pod names none itself. Pod %s (created %s) names none: it was created before %s got them, and keeps pulling without a secret until it is recreated.",
				fc.pod, pod.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z"), fc.sa),
			Fix: fc.restart(),
		}
		// Look past the restart: the ServiceAccount's secrets are what the new pod will use.
		next, err := d.secretsChain(ctx, v, nil, saNames, fc)
		if err != nil {
			return walk{}, err
		}
		w := walk{cause: &f}
		if next.cause != nil {
			after := *next.cause
			after.Severity = SeverityWarning
			after.Summary = "after the restart the pull would still fail: " + after.Summary
			w.warnings = append(w.warnings, after)
		}
		return w, nil
	}

	f := Finding{
		Code: NoPullSecret, Severity: SeverityError, ServiceAccount: fc.sa,
		Summary:     fmt.Sprintf("the pod names no pull secret, and neither does its ServiceAccount %s", fc.sa),
		Explanation: fmt.Sprintf("kubelet pulls %s without credentials: the pod has no imagePullSecrets and ServiceAccount %s has none to copy into new pods.", fc.image, fc.sa),
	}
	if sa == nil {
		f.Explanation += fmt.Sprintf(" ServiceAccount %s does not exist (any more).", fc.sa)
		f.Fix = append(f.Fix, fmt.Sprintf("kubectl create serviceaccount %s -n %s", fc.sa, fc.ns))
	}
	existing, cred, denied, err := d.servingSecret(ctx, v, fc.image, fc.host)
	if err != nil {
		return walk{}, err
	}
	switch {
	case denied != nil:
		existing = suggestedSecretName
		f.Explanation += fmt.Sprintf(" The doctor may not list the Secrets of this namespace, so it could not look for one that already has an entry for %s (see notChecked): "+
			"bind that one to the ServiceAccount instead of creating %q, if there is one.", fc.host, existing)
		f.Fix = append(f.Fix, fc.createSecret(existing))
	case existing != "":
		f.Explanation += fmt.Sprintf(" Secret %q of this namespace has an entry for %s: bind it to the ServiceAccount.", existing, fc.host)
		if cred != "" {
			f.Explanation += fmt.Sprintf(" It is written by rotator credential %q; add %s to its targets.serviceAccounts so the rotator keeps it bound.", cred, fc.sa)
		}
	default:
		existing = suggestedSecretName
		f.Explanation += fmt.Sprintf(" No Secret of this namespace has an entry for %s: create one, then bind it.", fc.host)
		f.Fix = append(f.Fix, fc.createSecret(existing))
	}
	f.Secret = existing
	f.Fix = append(f.Fix, fc.patchServiceAccount(existing))
	f.Fix = append(f.Fix, fc.restart()...)
	return walk{cause: &f}, nil
}

// servingSecret returns a pull secret of the namespace that kubelet could use for image, and the
// rotator credential writing it, if any; denied when the doctor may not list them.
func (d *Doctor) servingSecret(ctx context.Context, v *view, image, host string) (string, string, *NotChecked, error) {
	all, denied, err := v.allSecrets(ctx, host)
	if err != nil || denied != nil {
		return "", "", denied, err
	}
	for i := range all {
		s := &all[i]
		sc := checkSecret(s.Name, s)
		if sc.code != "" {
			continue
		}
		if _, _, ok := pullsecret.Match(sc.cfg, image); ok {
			return s.Name, managedBy(s), nil, nil
		}
	}
	return "", "", nil, nil
}

// secretsChain checks the named secrets as kubelet reads them, then the key matching and the
// entry. It stops at the first broken link. pod is the pod naming them (nil for secrets it does
// not name yet), whose kubelet Events tell which are missing when the doctor may not read them.
func (d *Doctor) secretsChain(ctx context.Context, v *view, pod *corev1.Pod, names []string, fc fixCtx) (walk, error) {
	var w walk
	var checks []secretCheck
	var kr pullsecret.Keyring
	var unread []string
	for _, name := range names {
		s, denied, err := v.secret(ctx, name)
		if err != nil {
			return walk{}, err
		}
		if denied != nil {
			unread = append(unread, name)
			continue
		}
		sc := checkSecret(name, s)
		checks = append(checks, sc)
		if sc.code == "" {
			kr.Add(name, sc.cfg)
			w.secrets = append(w.secrets, *s)
			if s.Type == corev1.SecretTypeDockercfg {
				w.warnings = append(w.warnings, legacyWarning(name))
			}
		}
	}

	// kubelet fails the whole pull on a secret it cannot decode, whatever the others hold.
	for _, sc := range checks {
		if sc.fatal {
			f := secretFinding(sc, fc, nil)
			w.cause = &f
			return w, nil
		}
	}

	if len(unread) > 0 {
		return d.unreadChain(ctx, v, pod, w, checks, unread, fc)
	}

	candidates := kr.Lookup(fc.image)
	if len(candidates) == 0 {
		first := -1
		for i, sc := range checks {
			if sc.code != "" && (first < 0 || rank(sc.code) < rank(checks[first].code)) {
				first = i
			}
		}
		if first < 0 {
			f := noMatchFinding(kr, checks, fc)
			w.cause = &f
			return w, nil
		}
		f, err := d.secretLinkFinding(ctx, v, checks[first], fc)
		if err != nil {
			return walk{}, err
		}
		w.cause = &f
		return w, nil
	}

	// A credential matches: broken secrets beside it only cost kubelet a warning Event.
	for _, sc := range checks {
		if sc.code != "" {
			f, err := d.secretLinkFinding(ctx, v, sc, fc)
			if err != nil {
				return walk{}, err
			}
			f.Severity = SeverityWarning
			f.Summary += fmt.Sprintf(" (another secret serves %s)", fc.host)
			w.warnings = append(w.warnings, f)
		}
	}
	return d.entryLink(w, checks, candidates, fc), nil
}

// secretLinkFinding is secretFinding, looking for a missing secret in other namespaces.
func (d *Doctor) secretLinkFinding(ctx context.Context, v *view, sc secretCheck, fc fixCtx) (Finding, error) {
	var elsewhere []corev1.Secret
	if sc.code == SecretNotFound {
		var err error
		var denied *NotChecked
		if elsewhere, denied, err = v.elsewhereSecrets(ctx, sc.name); err != nil {
			return Finding{}, err
		}
		f := secretFinding(sc, fc, elsewhere)
		if denied != nil {
			f.Explanation += " The doctor may not list Secrets in every namespace, so it could not look for one of that name elsewhere to copy (see notChecked)."
		}
		return f, nil
	}
	return secretFinding(sc, fc, elsewhere), nil
}

// unreadChain: the doctor may not read some of the pull secrets (unread). kubelet's
// FailedToRetrieveImagePullSecret Event still names those that are missing: the first of them
// is SecretNotFound. Of the others only the registry's answer is known, which credentialLink
// reports as what it is (PullSecretNotChecked), with the checks it could not make. The readable
// secrets' broken links are warnings: kubelet may use an unread one.
func (d *Doctor) unreadChain(ctx context.Context, v *view, pod *corev1.Pod, w walk, checks []secretCheck, unread []string, fc fixCtx) (walk, error) {
	var missing []string
	var said string
	if pod != nil {
		missing, said = unretrieved(pod, v.evs)
	}
	for _, name := range unread {
		if !contains(missing, name) {
			w.unread = append(w.unread, name)
		}
	}
	for _, name := range unread {
		if !contains(missing, name) {
			continue
		}
		v.unnote(CheckSecretContents, v.ns, name) // kubelet says it is not there: nothing to read
		f, err := d.secretLinkFinding(ctx, v, secretCheck{name: name, code: SecretNotFound}, fc)
		if err != nil {
			return walk{}, err
		}
		f.Explanation += fmt.Sprintf(" The doctor may not read Secrets in namespace %s; kubelet's Event %s says so: %q.", fc.ns, reasonFailedToRetrieve, said)
		w.cause = &f
		return w, nil
	}
	for _, sc := range checks {
		if sc.code != "" {
			f := secretFinding(sc, fc, nil)
			f.Severity = SeverityWarning
			w.warnings = append(w.warnings, f)
		}
	}
	return w, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
