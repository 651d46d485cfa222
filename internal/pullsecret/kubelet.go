package pullsecret

import (
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// This file transcribes kubelet's key and image handling from
// k8s.io/kubernetes pkg/credentialprovider/keyring.go (v1.37) and
// pkg/util/parsers.ParseImageName. Quirks are kept on purpose: the point is to
// predict what kubelet does, not what it should do.

// dockerHubIndexKey is the index key kubelet derives from DockerHubKey; kubelet
// falls back to it for Docker Hub images when no other key matched.
const dockerHubIndexKey = "index.docker.io"

// kubeletKey turns an auths key into kubelet's index key (BasicDockerKeyring.Add):
// add https:// when there is no scheme, drop the scheme, strip a leading /v1 or /v2
// from "/v1/…" or "/v2/…", and keep a remaining path other than "/". ok is false when
// kubelet cannot parse the key and skips the entry.
func kubeletKey(key string) (index string, ok bool) {
	v := key
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", false
	}
	p := u.Path
	if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p != "" && p != "/" {
		return u.Host + p, true
	}
	return u.Host, true
}

// kubeletImage returns the repository name kubelet looks credentials up with:
// distribution's ParseNormalizedNamed(image).Name(), e.g. "docker.io/library/nginx"
// for "nginx" and "registry.example.com:5000/team/app" for
// "registry.example.com:5000/team/app:1.0". go-containerregistry's parser applies
// the same normalisation but names Docker Hub "index.docker.io", which is mapped
// back to kubelet's "docker.io".
func kubeletImage(image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", err
	}
	repo := ref.Context()
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = DockerHubHost
	}
	return reg + "/" + repo.RepositoryStr(), nil
}

// ImageHost returns the registry host of an image as kubelet sees it: "docker.io"
// for Docker Hub images (including images written without a host), otherwise the
// host[:port] written in the reference.
func ImageHost(image string) (string, error) {
	img, err := kubeletImage(image)
	if err != nil {
		return "", err
	}
	host, _, _ := strings.Cut(img, "/")
	return host, nil
}

// isDefaultRegistryMatch is kubelet's test for "this image is pulled from Docker
// Hub". It is applied to the normalised name, so its last rule also makes
// single-label hosts such as "localhost/app" count as Docker Hub: kubelet then
// offers Docker Hub's credentials to such images when nothing else matched.
func isDefaultRegistryMatch(image string) bool {
	parts := strings.SplitN(image, "/", 2)
	if len(parts[0]) == 0 {
		return false
	}
	if len(parts) == 1 {
		return true
	}
	if parts[0] == "docker.io" || parts[0] == "index.docker.io" {
		return true
	}
	return !strings.ContainsAny(parts[0], ".:")
}

// schemeless parses "host[:port][/path]" the way kubelet's ParseSchemelessURL does.
func schemeless(s string) (*url.URL, error) {
	u, err := url.Parse("https://" + s)
	if err != nil {
		return nil, err
	}
	u.Scheme = ""
	return u, nil
}

// splitHost splits a URL's host into its dot-separated labels and its port.
func splitHost(u *url.URL) (labels []string, port string) {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return strings.Split(host, "."), port
}

// globMatch is kubelet's URLsMatchStr: the ports are equal (absent on both sides
// counts as equal), the hosts have the same number of labels and each image label
// matches the key label as a filepath.Match pattern, and the key's path is a string
// prefix of the image's path ("/team" is a prefix of "/teamB/app" too).
func globMatch(indexKey, image string) bool {
	return mismatch(indexKey, image) == ""
}

// mismatch returns why kubelet's URLsMatchStr fails, or "" when it matches.
func mismatch(indexKey, image string) string {
	k, err := schemeless(indexKey)
	if err != nil {
		return "kubelet cannot parse the key"
	}
	t, err := schemeless(image)
	if err != nil {
		return "kubelet cannot parse the image name"
	}
	kl, kp := splitHost(k)
	tl, tp := splitHost(t)
	if kp != tp {
		return "port " + portText(kp) + " of the key differs from port " + portText(tp) + " of the image; kubelet compares ports exactly"
	}
	if len(kl) != len(tl) {
		return "host " + quote(strings.Join(kl, ".")) + " and image host " + quote(strings.Join(tl, ".")) +
			" have different numbers of labels; a glob matches one label per label"
	}
	if !strings.HasPrefix(t.Path, k.Path) {
		return "path " + quote(k.Path) + " of the key is not a prefix of the image path " + quote(t.Path)
	}
	for i := range kl {
		ok, err := filepath.Match(kl[i], tl[i])
		if err != nil {
			return "host label " + quote(kl[i]) + " is not a valid glob"
		}
		if !ok {
			return "host label " + quote(kl[i]) + " does not match image host label " + quote(tl[i])
		}
	}
	return ""
}

func portText(p string) string {
	if p == "" {
		return "(none)"
	}
	return quote(p)
}

func quote(s string) string { return strconv.Quote(s) }
