package doctor

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Messages as kubelet reports them (its own, containerd's through CRI, and go-containerregistry's
// as the sandbox's node simulator reports them).
func TestClassify(t *testing.T) {
	tests := []struct {
		msg  string
		want Class
	}{
		{`rpc error: code = Unknown desc = failed to pull and unpack image "r.example.com/a/b:1": failed to resolve reference "r.example.com/a/b:1": pulling from host r.example.com failed with status code [manifests 1]: 401 Unauthorized`, ClassAuth},
		{`failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://r.example.com/service/token?scope=repository%3Aa%2Fb%3Apull&service=harbor-registry: 401 Unauthorized`, ClassAuth},
		{`GET http://127.0.0.1:5000/v2/proj-a/app/manifests/1.0: UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:proj-a/app Type:repository]]`, ClassAuth},
		{`pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`, ClassAuth},
		{`failed to resolve reference "r.example.com/a/b:1": unexpected status from HEAD request to https://r.example.com/v2/a/b/manifests/1: 403 Forbidden`, ClassPermission},
		{`GET https://r.example.com/v2/a/b/manifests/1: DENIED: requested access to the resource is denied`, ClassPermission},
		{`failed to resolve reference "r.example.com/a/b:nope": r.example.com/a/b:nope: not found`, ClassMissingImage},
		{`GET http://127.0.0.1:5000/v2/proj-a/app/manifests/nope: MANIFEST_UNKNOWN: manifest unknown; map[Tag:nope]`, ClassMissingImage},
		{`GET https://r.example.com/v2/a/nothing/manifests/1: NAME_UNKNOWN: repository name not known to registry`, ClassMissingImage},
		{`failed to do request: Head "https://r.example.com/v2/a/b/manifests/1": tls: failed to verify certificate: x509: certificate signed by unknown authority`, ClassTLS},
		{`Get "https://127.0.0.1:40000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority; GET http://127.0.0.1:40000/v2/: unexpected status code 400 Bad Request: Client sent an HTTP request to an HTTPS server.`, ClassTLS},
		{`http: server gave HTTP response to HTTPS client`, ClassTLS},
		{`dial tcp: lookup r.example.com on 10.96.0.10:53: no such host`, ClassNetwork},
		{`Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`, ClassNetwork},
		{`dial tcp 10.0.0.5:443: i/o timeout`, ClassNetwork},
		{`read pull secrets: illegal base64 data at input byte 4`, ClassOther},
		{``, ClassOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.msg); got != tt.want {
			t.Errorf("Classify(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

// The newest "Failed to pull image" Event of the container wins over the status message, and
// events of other pods or containers are ignored.
func TestContainerPullsReadsTheNewestEvent(t *testing.T) {
	p := pod("web-1", testImage, ReasonErrImagePull, "")
	other := pod("web-2", testImage, ReasonErrImagePull, "")
	evs := []corev1.Event{
		*pullEvent(p, unauthorized, time.Minute),
		*pullEvent(p, "dial tcp: lookup registry.example.com: no such host", 0),
		*pullEvent(other, "x509: certificate signed by unknown authority", 0),
	}
	cps := containerPulls(p, evs)
	if len(cps) != 1 || cps[0].Class != ClassNetwork || cps[0].Waiting != ReasonErrImagePull {
		t.Fatalf("%+v", cps)
	}
	if cps := containerPulls(p, evs[:1]); cps[0].Class != ClassAuth {
		t.Fatalf("%+v", cps)
	}
}
