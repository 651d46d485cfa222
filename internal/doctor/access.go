package doctor

import (
	"context"
	"fmt"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The doctor reads a Secret only where its identity may. Kubernetes RBAC has no "metadata only"
// or "type only" right on secrets: a metadata-only request (PartialObjectMetadata) is authorised as
// an ordinary get or list, so whoever may see a Secret's name through the API may see its data.
// The shipped ClusterRole rotator-doctor therefore grants no read on secrets at all, and the doctor
// diagnoses from what it may read: pods, kubelet's Events, ServiceAccounts and workloads. Where a
// check needs a Secret's contents it says so in a NotChecked, with the RoleBinding that grants it
// (ClusterRole rotator-doctor-secrets, deploy/rbac/doctor-secrets-role.yaml).
//
// Before each Secret read the doctor asks the API server whether it may (a
// SelfSubjectAccessReview, which every authenticated user may create and which changes nothing):
// an identity without secret reads then sends none, and a cluster's audit log shows no refused
// secret read for a security team to chase. When the question cannot be asked, the doctor tries
// the read; a read refused anyway (403) degrades the same way.

// RoleSecrets is the ClusterRole that gives the doctor full checks, bound per namespace.
const RoleSecrets = "rotator-doctor-secrets"

// Check names a check the doctor could not make. Checks are stable: scripts match on them.
type Check string

// The checks that need Secret reads.
const (
	// CheckSecretContents: a pull secret could not be read: its existence (unless kubelet
	// reported it missing), type, data key, JSON, auths keys and auth field, and whether the
	// rotator manages it (its labels and annotations).
	CheckSecretContents Check = "SecretContents"
	// CheckNamespaceSecrets: the namespace's Secrets could not be listed, to find one that has
	// an entry for the image's registry already (the hint of NoPullSecret).
	CheckNamespaceSecrets Check = "NamespaceSecrets"
	// CheckOtherNamespaces: Secrets could not be listed across the cluster, to find a missing
	// pull secret in another namespace (the hint of SecretNotFound).
	CheckOtherNamespaces Check = "OtherNamespaces"
	// CheckRotatorState: the rotator's state Secret of a managed credential could not be read.
	CheckRotatorState Check = "RotatorState"
	// CheckProbe: --probe could not pull with the pod's pull secrets: it could not read them.
	CheckProbe Check = "ProbeWithSecrets"
)

// NotChecked is a check the doctor could not make for lack of rights, and how to grant them.
// Like a Finding, it never holds a secret's value.
type NotChecked struct {
	Check Check `json:"check"`
	// Namespace of the Secret(s); empty for every namespace of the cluster.
	Namespace string `json:"namespace,omitempty"`
	Secret    string `json:"secret,omitempty"`
	// Codes are the diagnoses the check makes or rules out, which the report therefore cannot
	// name.
	Codes []Code `json:"codes,omitempty"`
	// Reason is the API server's answer, e.g. "forbidden".
	Reason string `json:"reason"`
	// Summary is one line: what could not be read, and what grants it.
	Summary string `json:"summary"`
	// Grant is the command that gives this identity the check (to be run by someone who may).
	Grant string `json:"grant,omitempty"`
}

// secretCodes are what the contents of a pull secret tell.
var secretCodes = []Code{SecretNotFound, SecretWrongType, SecretWrongKey, SecretMalformed, NoMatchingAuthsKey, AuthFieldMismatch, RegistryRefused}

// access answers, once per question, whether the doctor's identity may read Secrets.
type access struct {
	kube    kubernetes.Interface
	answers map[accessKey]bool
	subject string // the kubectl flag naming this identity, once asked
}

type accessKey struct{ verb, ns, name string }

func newAccess(kube kubernetes.Interface) *access {
	return &access{kube: kube, answers: map[accessKey]bool{}}
}

// may reports whether the identity may verb secrets named name in ns (name "": any; ns "": every
// namespace). When the API server cannot be asked, it answers yes: the read itself then tells.
func (a *access) may(ctx context.Context, verb, ns, name string) bool {
	k := accessKey{verb, ns, name}
	if ok, done := a.answers[k]; done {
		return ok
	}
	r, err := a.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
		Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Resource: "secrets", Name: name,
		}},
	}, metav1.CreateOptions{})
	ok := err != nil || r.Status.Allowed
	a.answers[k] = ok
	return ok
}

// refuse remembers that a read the API server allowed was refused all the same.
func (a *access) refuse(verb, ns, name string) { a.answers[accessKey{verb, ns, name}] = false }

// subjectFlag names this identity for kubectl create rolebinding: --user NAME or
// --serviceaccount NS:NAME, from a SelfSubjectReview; a placeholder when it cannot be asked.
func (a *access) subjectFlag(ctx context.Context) string {
	if a.subject != "" {
		return a.subject
	}
	a.subject = "--user '<user>'"
	r, err := a.kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil && r.Status.UserInfo.Username != "" {
		u := r.Status.UserInfo.Username
		if rest, ok := strings.CutPrefix(u, "system:serviceaccount:"); ok && strings.Count(rest, ":") == 1 {
			a.subject = "--serviceaccount " + rest
		} else {
			a.subject = "--user " + shellWord(u)
		}
	}
	return a.subject
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	plain := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:@/+=", r)
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !plain(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// grantIn is the RoleBinding that gives the doctor full checks in ns.
func (a *access) grantIn(ctx context.Context, ns string) string {
	return fmt.Sprintf("kubectl create rolebinding %s -n %s --clusterrole %s %s", RoleSecrets, ns, RoleSecrets, a.subjectFlag(ctx))
}

// secretDenied is the NotChecked of a pull secret the doctor may not read.
func (a *access) secretDenied(ctx context.Context, ns, name, reason string) NotChecked {
	return NotChecked{
		Check: CheckSecretContents, Namespace: ns, Secret: name, Codes: secretCodes, Reason: reason,
		Summary: fmt.Sprintf("could not read secret %s in namespace %s: %s; bind ClusterRole %s with a RoleBinding in %s for full checks (its type, data key, JSON, auths key, auth field, and whether the rotator manages it)",
			name, ns, reason, RoleSecrets, ns),
		Grant: a.grantIn(ctx, ns),
	}
}

// listDenied is the NotChecked of the namespace's Secrets, which the doctor may not list.
func (a *access) listDenied(ctx context.Context, ns, host, reason string) NotChecked {
	return NotChecked{
		Check: CheckNamespaceSecrets, Namespace: ns, Reason: reason,
		Summary: fmt.Sprintf("could not list the secrets of namespace %s: %s; bind ClusterRole %s with a RoleBinding in %s for full checks (whether one already has an entry for %s)",
			ns, reason, RoleSecrets, ns, host),
		Grant: a.grantIn(ctx, ns),
	}
}

// elsewhereDenied is the NotChecked of the look for a missing secret in other namespaces. The
// only grant would be list on every Secret of the cluster, which the doctor is not meant to have:
// it names the look-up for someone who may make it instead (names, types and ages; no values).
func elsewhereDenied(name, reason string) NotChecked {
	return NotChecked{
		Check: CheckOtherNamespaces, Secret: name, Reason: reason,
		Summary: fmt.Sprintf("could not look for secret %s in other namespaces: %s; that needs list on secrets in every namespace, which the doctor is not meant to have: "+
			"someone who may can look (kubectl get secrets -A --field-selector metadata.name=%s) and copy it", name, reason, name),
	}
}

// stateDenied is the NotChecked of a rotator state Secret. It holds the live credentials, so the
// grant names that one Secret only.
func (a *access) stateDenied(ctx context.Context, ns, name, reason string) NotChecked {
	return NotChecked{
		Check: CheckRotatorState, Namespace: ns, Secret: name, Reason: reason,
		Summary: fmt.Sprintf("could not read the rotator's state secret %s in namespace %s: %s (whether the secret holds the rotator's current credential, a pending or retired one); it holds live robot passwords: grant it only to who may hold them",
			name, ns, reason),
		Grant: fmt.Sprintf("kubectl create role rotator-doctor-state -n %s --verb get --resource secrets --resource-name %s && kubectl create rolebinding rotator-doctor-state -n %s --role rotator-doctor-state %s",
			ns, name, ns, a.subjectFlag(ctx)),
	}
}

// probeDenied: --probe pulls with the pod's secrets, which the doctor could not read.
func probeDenied(ns string) NotChecked {
	return NotChecked{
		Check: CheckProbe, Namespace: ns, Reason: "forbidden",
		Summary: fmt.Sprintf("--probe did not pull with the pod's pull secrets: the doctor could not read them in namespace %s (see above)", ns),
	}
}
