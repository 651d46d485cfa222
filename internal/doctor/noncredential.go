package doctor

import "fmt"

// notCredential is the finding of a failure the pull secret cannot cause.
func notCredential(cp containerPull, fc fixCtx) Finding {
	said := "kubelet said: " + orNothing(cp.Message) + "."
	switch cp.Class {
	case ClassMissingImage:
		return Finding{Code: ImageNotFound, Severity: SeverityError,
			Summary: fmt.Sprintf("registry %s says %s does not exist", fc.host, fc.image),
			Explanation: "The registry answered the pull with \"not found\" (manifest or repository unknown): it was reached, and it did not refuse the credential, " +
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
