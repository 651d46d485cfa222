package doctor

import "strings"

// pattern is a piece of text kubelet (or the container runtime under it) puts into a pull error.
type pattern struct {
	class Class
	text  string // lower case
}

// patterns are checked in order, and the order matters: a TLS or network failure means the
// registry never judged the credential, whatever else the message says (go-containerregistry
// joins the https and the http attempt's errors, and the second one may be a 400 or a 401); auth
// comes before missing image because registries hide private repositories behind "not found"
// only after refusing the credential, and "pull access denied ... may require authorization" is
// Docker Hub's answer to an anonymous pull of a private repository.
var patterns = []pattern{
	{ClassTLS, "x509:"},
	{ClassTLS, "certificate signed by unknown authority"},
	{ClassTLS, "failed to verify certificate"},
	{ClassTLS, "certificate is not valid for"},
	{ClassTLS, "tls: "},
	{ClassTLS, "server gave http response to https client"},
	{ClassNetwork, "no such host"},
	{ClassNetwork, "i/o timeout"},
	{ClassNetwork, "connection refused"},
	{ClassNetwork, "network is unreachable"},
	{ClassNetwork, "no route to host"},
	{ClassNetwork, "connection reset by peer"},
	{ClassNetwork, "context deadline exceeded"},
	{ClassNetwork, "temporary failure in name resolution"},
	{ClassAuth, "401 unauthorized"},
	{ClassAuth, "unauthorized"},
	{ClassAuth, "authentication required"},
	{ClassAuth, "status 401"},
	{ClassAuth, "status code 401"},
	{ClassAuth, "pull access denied"},
	{ClassAuth, "failed to authorize"},
	{ClassPermission, "403 forbidden"},
	{ClassPermission, "status 403"},
	{ClassPermission, "status code 403"},
	{ClassPermission, "forbidden"},
	{ClassPermission, "denied"},
	{ClassPermission, "insufficient_scope"},
	{ClassMissingImage, "manifest unknown"},
	{ClassMissingImage, "manifest_unknown"},
	{ClassMissingImage, "name_unknown"},
	{ClassMissingImage, "repository name not known"},
	{ClassMissingImage, "404 not found"},
	{ClassMissingImage, "status 404"},
	{ClassMissingImage, "not found"},
}

// Classify returns the class of a pull failure from kubelet's message (the Event's or the
// container status's). An empty message is ClassOther: the pull failed and nobody said why.
func Classify(message string) Class {
	m := strings.ToLower(message)
	for _, p := range patterns {
		if strings.Contains(m, p.text) {
			return p.class
		}
	}
	return ClassOther
}
