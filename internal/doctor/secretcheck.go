package doctor

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// secretCheck is what kubelet makes of one pull secret the pod names.
type secretCheck struct {
	name   string
	secret *corev1.Secret // nil: not found
	cfg    pullsecret.Config
	err    error // ParseSecret's, possibly joined
	// code is the secret-level broken link (SecretNotFound, SecretWrongType, SecretWrongKey,
	// SecretMalformed), or "" when kubelet reads the secret's entries.
	code Code
	// fatal: kubelet refuses the secret as a whole and fails every pull of the pod.
	fatal bool
}

// rank orders secret-level links as kubelet meets them, to name the first broken one.
func rank(c Code) int {
	switch c {
	case SecretNotFound:
		return 1
	case SecretWrongType:
		return 2
	case SecretWrongKey:
		return 3
	case SecretMalformed:
		return 4
	}
	return 5
}

// checkSecret classifies s (nil when it does not exist) with pullsecret.ParseSecret.
func checkSecret(name string, s *corev1.Secret) secretCheck {
	sc := secretCheck{name: name, secret: s}
	if s == nil {
		sc.code = SecretNotFound
		return sc
	}
	sc.cfg, sc.err = pullsecret.ParseSecret(s)
	sc.code, sc.fatal = secretLevel(s, sc.err)
	return sc
}

// secretLevel maps ParseSecret's errors to the link that breaks. Entry-level problems
// (ErrAuthMismatch, ErrNoCredentials, ErrInvalidKey) are left to the key matching: they matter
// only for the entry kubelet picks.
func secretLevel(s *corev1.Secret, err error) (Code, bool) {
	_, hasJSON := s.Data[corev1.DockerConfigJsonKey]
	_, hasCfg := s.Data[corev1.DockerConfigKey]
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, pullsecret.ErrWrongType):
		// The data is in the right place under the wrong type, or in the wrong place too (the
		// usual `kubectl create secret generic --from-file=config.json`): the second is fixed by
		// the key, which is what the user got wrong first.
		if hasJSON || hasCfg || len(s.Data) == 0 {
			return SecretWrongType, false
		}
		return SecretWrongKey, false
	case errors.Is(err, pullsecret.ErrMissingKey):
		if s.Type == corev1.SecretTypeDockercfg && hasJSON {
			return SecretWrongType, false
		}
		return SecretWrongKey, false
	case errors.Is(err, pullsecret.ErrWrongFormat) && s.Type == corev1.SecretTypeDockercfg:
		return SecretWrongType, false
	case pullsecret.BreaksKubelet(err):
		return SecretMalformed, true
	case errors.Is(err, pullsecret.ErrWrongFormat), errors.Is(err, pullsecret.ErrNoAuths):
		return SecretMalformed, false
	}
	return "", false
}

// managedBy returns the rotator credential that writes s, or "".
func managedBy(s *corev1.Secret) string {
	if s == nil || s.Labels[secretsync.LabelManagedBy] != secretsync.ManagedByValue {
		return ""
	}
	return s.Labels[secretsync.LabelCredential]
}

// secretFinding turns a secret-level broken link into a finding with its fix.
func secretFinding(sc secretCheck, fc fixCtx, elsewhere []corev1.Secret) Finding {
	f := Finding{Code: sc.code, Severity: SeverityError, Secret: sc.name, Credential: managedBy(sc.secret)}
	// pullsecret's own text adds what the finding does not say already: which format, which
	// entry, which byte; its "wrong type" text would only repeat the finding.
	detail := ""
	if sc.err != nil && !errors.Is(sc.err, pullsecret.ErrWrongType) {
		detail = " (" + parseErrorText(sc.err) + ")"
	}
	fixSecret := append(fc.recreateSecret(sc.name), fc.restart()...)
	switch sc.code {
	case SecretNotFound:
		f.Summary = fmt.Sprintf("pull secret %q does not exist in namespace %s", sc.name, fc.ns)
		f.Explanation = fmt.Sprintf("The pod names pull secret %q, which does not exist in namespace %s. "+
			"A pod reads Secrets of its own namespace only; kubelet reports FailedToRetrieveImagePullSecret and pulls without it.", sc.name, fc.ns)
		fixSecret = append([]string{fc.createSecret(sc.name)}, fc.restart()...)
		for _, o := range elsewhere {
			f.OtherNamespaces = append(f.OtherNamespaces, o.Namespace)
		}
		if len(elsewhere) > 0 {
			f.Explanation += fmt.Sprintf(" A Secret of that name exists in namespace(s) %s.", strings.Join(f.OtherNamespaces, ", "))
		}
		if src := copySource(elsewhere); src != nil {
			if cred := managedBy(src); cred != "" {
				f.Explanation += fmt.Sprintf(" The one in %s is written by rotator credential %q: add namespace %s to its targets so the rotator keeps a copy here.", src.Namespace, cred, fc.ns)
			}
			fixSecret = append([]string{"# copy it from namespace " + src.Namespace + " (the value is piped, never shown):", fc.copySecret(sc.name, src.Namespace)}, fc.restart()...)
		}
	case SecretWrongType:
		f.Summary = fmt.Sprintf("pull secret %q has type %s, which kubelet does not read as %s", sc.name, typeOf(sc.secret), wantedFor(sc.secret))
		f.Explanation = fmt.Sprintf("kubelet reads only Secrets of type kubernetes.io/dockerconfigjson (key .dockerconfigjson) and the legacy kubernetes.io/dockercfg (key .dockercfg, "+
			"entries without the \"auths\" wrapper); it ignores %q and pulls without it%s. A Secret's type cannot be changed: delete it and create it again.", sc.name, detail)
	case SecretWrongKey:
		f.Summary = fmt.Sprintf("pull secret %q holds its data under %s, not .dockerconfigjson", sc.name, keysOf(sc.secret))
		f.Explanation = fmt.Sprintf("kubelet reads the credential from data key .dockerconfigjson of a kubernetes.io/dockerconfigjson Secret; %q has type %s and keys %s, "+
			"as `kubectl create secret generic --from-file=config.json` makes, so kubelet ignores it and pulls without it%s.", sc.name, typeOf(sc.secret), keysOf(sc.secret), detail)
	case SecretMalformed:
		f.Summary = fmt.Sprintf("pull secret %q is not a document kubelet can use", sc.name)
		f.Explanation = fmt.Sprintf("The .dockerconfigjson of %q is broken%s.", sc.name, detail)
		if sc.fatal {
			f.Explanation += " kubelet refuses such a secret as a whole and fails every pull of the pod, whatever the other secrets hold."
		} else {
			f.Explanation += " kubelet finds no entry in it and pulls without it."
		}
	}
	f.Fix = fixSecret
	if f.Credential != "" {
		f.Explanation += fmt.Sprintf(" The secret is managed by rotator credential %q: a rotation rewrites it.", f.Credential)
		f.Fix = []string{rotate(f.Credential)}
	}
	return f
}

// copySource is a same-named Secret of another namespace kubelet could read, to copy.
func copySource(elsewhere []corev1.Secret) *corev1.Secret {
	for i := range elsewhere {
		s := &elsewhere[i]
		if s.Type == corev1.SecretTypeDockerConfigJson && len(s.Data[corev1.DockerConfigJsonKey]) > 0 {
			return s
		}
	}
	return nil
}

// parseErrorText is ParseSecret's error without the "secret ns/name: " prefix the finding
// already says; it never holds a value (see pullsecret.Error).
func parseErrorText(err error) string {
	var msgs []string
	collect(err, func(e *pullsecret.Error) {
		m := e.Kind.Error()
		if e.Key != "" {
			m = fmt.Sprintf("entry %q: %s", e.Key, m)
		}
		if e.Msg != "" {
			m += ": " + e.Msg
		}
		msgs = append(msgs, m)
	})
	if len(msgs) == 0 {
		return err.Error()
	}
	return strings.Join(msgs, "; ")
}

// collect calls fn for each *pullsecret.Error inside a possibly joined err.
func collect(err error, fn func(*pullsecret.Error)) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collect(e, fn)
		}
		return
	}
	var pe *pullsecret.Error
	if errors.As(err, &pe) {
		fn(pe)
	}
}

// entryErrors returns the problems of the entry key inside err.
func entryErrors(err error, key string) []*pullsecret.Error {
	var out []*pullsecret.Error
	collect(err, func(e *pullsecret.Error) {
		if e.Key == key {
			out = append(out, e)
		}
	})
	return out
}

func typeOf(s *corev1.Secret) string {
	if s == nil {
		return ""
	}
	if s.Type == "" {
		return string(corev1.SecretTypeOpaque)
	}
	return string(s.Type)
}

// wantedFor says what the Secret's data would need.
func wantedFor(s *corev1.Secret) string {
	if s != nil && s.Type == corev1.SecretTypeDockercfg {
		return "the newer format (it holds an \"auths\" document, which needs type kubernetes.io/dockerconfigjson)"
	}
	return "a pull secret"
}

// keysOf lists a Secret's data keys, never their values.
func keysOf(s *corev1.Secret) string {
	if s == nil || len(s.Data) == 0 {
		return "(no data)"
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
