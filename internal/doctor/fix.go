package doctor

import (
	"fmt"
	"strings"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// Placeholders stand where the user must put a value the doctor must never print or cannot know.
// They sit inside single quotes in the commands, which also keeps a Harbor robot name's "$" and
// "+" safe from the shell once substituted.
const (
	PlaceholderUsername = "<username>"
	PlaceholderPassword = "<password>"
	PlaceholderConfig   = "<config.yaml>"
	PlaceholderImage    = "<image>"
)

// suggestedSecretName is the name proposed for a new pull secret, as in the Kubernetes docs.
const suggestedSecretName = "regcred"

// fixCtx is what the fix commands of one container need to name.
type fixCtx struct {
	ns, pod, container string
	// owner recreates the pod: "deployment/web", "statefulset/db", "daemonset/agent", another
	// "kind/name" (a ReplicaSet or Job without a known parent), or "" for a bare pod.
	owner string
	sa    string // the pod's ServiceAccount
	image string
	host  string // the image's registry host as kubelet sees it
}

// restart returns the commands that make the pod's owner create a new pod, which reads the
// ServiceAccount and the pull secrets afresh.
func (fc fixCtx) restart() []string {
	kind, _, _ := strings.Cut(fc.owner, "/")
	switch kind {
	case "deployment", "statefulset", "daemonset":
		return []string{fmt.Sprintf("kubectl rollout restart %s -n %s", fc.owner, fc.ns)}
	case "":
		return []string{
			"# a bare pod is recreated by nobody: delete it and create it again from its manifest",
			fmt.Sprintf("kubectl delete pod %s -n %s", fc.pod, fc.ns),
		}
	}
	return []string{fmt.Sprintf("kubectl delete pod %s -n %s  # %s creates a new one", fc.pod, fc.ns, fc.owner)}
}

// createSecret creates a correct pull secret for the image's registry, with placeholders.
func (fc fixCtx) createSecret(name string) string {
	return fmt.Sprintf("kubectl create secret docker-registry %s -n %s --docker-server=%s --docker-username='%s' --docker-password='%s'",
		name, fc.ns, pullsecret.SecretKey(fc.host), PlaceholderUsername, PlaceholderPassword)
}

// recreateSecret replaces a broken pull secret by a correct one. A Secret's type cannot be
// changed, so it is deleted first.
func (fc fixCtx) recreateSecret(name string) []string {
	return []string{
		fmt.Sprintf("kubectl delete secret %s -n %s --ignore-not-found", name, fc.ns),
		fc.createSecret(name),
	}
}

// patchServiceAccount lists secret in the ServiceAccount's imagePullSecrets. Only used when it
// has none, so the strategic merge patch (which replaces this list) loses nothing.
func (fc fixCtx) patchServiceAccount(secret string) string {
	return fmt.Sprintf(`kubectl patch serviceaccount %s -n %s -p '{"imagePullSecrets":[{"name":"%s"}]}'`, fc.sa, fc.ns, secret)
}

// copySecret copies a pull secret from another namespace without showing its value: kubectl
// decodes it in a template and pipes it into the new Secret.
func (fc fixCtx) copySecret(name, from string) string {
	return fmt.Sprintf(`kubectl get secret %s -n %s -o go-template='{{index .data ".dockerconfigjson" | base64decode}}' | kubectl create secret generic %s -n %s --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin`,
		name, from, name, fc.ns)
}

// setImage points the container at another image, for a wrong reference.
func (fc fixCtx) setImage() string {
	target := fc.owner
	if kind, _, _ := strings.Cut(fc.owner, "/"); kind != "deployment" && kind != "statefulset" && kind != "daemonset" {
		target = "pod/" + fc.pod // a pod's image may be changed in place
	}
	return fmt.Sprintf("kubectl set image %s %s='%s' -n %s", target, fc.container, PlaceholderImage, fc.ns)
}

// rotate is the fix of a secret the rotator manages: a rotation issues a new credential, writes
// it everywhere (repairing a drifted secret) and restarts the workloads that use it.
func rotate(credential string) string {
	return fmt.Sprintf("rotator rotate now --config '%s' --credential %s", PlaceholderConfig, credential)
}
