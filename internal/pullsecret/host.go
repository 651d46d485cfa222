package pullsecret

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

const (
	// DockerHubHost is the canonical host of Docker Hub: what an image without a
	// registry ("nginx", "library/nginx") resolves to, in kubelet's spelling.
	DockerHubHost = "docker.io"
	// DockerHubKey is the pull secret key Docker itself uses for Docker Hub. kubelet
	// accepts it for docker.io images and go-containerregistry matches it; a bare
	// "docker.io" key works in kubelet but not in go-containerregistry's keychain.
	DockerHubKey = "https://index.docker.io/v1/"
)

// dockerHubAliases are the host names that all mean Docker Hub.
var dockerHubAliases = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// label is one DNS label in lower case, as the distribution reference grammar
// accepts it for a registry domain (RFC 1123, no underscore).
var label = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// CanonicalHost normalises a configured registry host to the bare "host[:port]"
// the rotator writes as pull secret key, and reports whether it had to change it,
// so the caller can tell the user "registry host X normalised to Y".
//
// It strips an http:// or https:// scheme, a trailing "/", and a "/v1" or "/v2"
// API path (with or without trailing "/"), and lower-cases the result (hosts are
// case-insensitive, but kubelet's key match is not, and images are written in lower
// case). It rejects an empty value, white space, user information, any other
// scheme or path, a glob, an invalid port (not 1-65535, or a leading zero, which
// kubelet would compare as a different string) and labels that are not DNS labels.
//
// Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io) become
// DockerHubHost, "docker.io", the host kubelet sees in a Hub image; use SecretKey to
// get the key to write for it.
func CanonicalHost(raw string) (host string, changed bool, err error) {
	if raw == "" {
		return "", false, newError(ErrInvalidHost, "", "", "empty")
	}
	if strings.Contains(raw, "@") {
		// Do not echo the value: "user:password@host" would put a password into logs.
		return "", false, newError(ErrInvalidHost, "", "",
			`the value contains user information ("@"); credentials belong in the provider settings, not in the host`)
	}
	if strings.ContainsFunc(raw, unicode.IsSpace) {
		return "", false, newError(ErrInvalidHost, "", "", "%q contains white space", raw)
	}
	s := strings.ToLower(raw)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme != "https" && scheme != "http" {
			return "", false, newError(ErrInvalidHost, "", "", "%q: scheme %q is not http or https", raw, scheme)
		}
		s = rest
	}
	s, path, hasPath := strings.Cut(s, "/")
	if hasPath {
		switch "/" + path {
		case "/", "/v1", "/v1/", "/v2", "/v2/":
		default:
			return "", false, newError(ErrInvalidHost, "", "",
				"%q has the path %q; a registry host is host[:port] only (kubelet would treat the path as a repository prefix)", raw, "/"+path)
		}
	}
	if err := checkHostPort(s); err != nil {
		return "", false, newError(ErrInvalidHost, "", "", "%q: %s", raw, err.Error())
	}
	if dockerHubAliases[s] {
		s = DockerHubHost
	}
	return s, s != raw, nil
}

// SecretKey returns the auths key to write for a canonical host: the host itself,
// except for Docker Hub, whose key is DockerHubKey because that is the one key
// Docker, kubelet and go-containerregistry all accept for Hub images.
func SecretKey(canonicalHost string) string {
	if dockerHubAliases[canonicalHost] {
		return DockerHubKey
	}
	return canonicalHost
}

// hostError is a plain message; CanonicalHost wraps it in an *Error.
type hostError string

func (e hostError) Error() string { return string(e) }

// checkHostPort validates a lower-case "host", "host:port", "[v6]" or "[v6]:port".
func checkHostPort(s string) error {
	if s == "" {
		return hostError("no host")
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return hostError("unclosed [ in IPv6 address")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return hostError("unexpected text after IPv6 address")
			}
			port = port[1:]
			if port == "" {
				return hostError("empty port")
			}
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return hostError("not an IPv6 address inside [ ]")
		}
	case strings.Count(s, ":") > 1:
		return hostError("an IPv6 address must be written in [ ]")
	case strings.Contains(s, ":"):
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return hostError("empty port")
		}
		fallthrough
	default:
		if strings.Contains(host, "*") {
			return hostError("a glob is not a registry host")
		}
		if len(host) > 253 {
			return hostError("host name longer than 253 characters")
		}
		for _, l := range strings.Split(host, ".") {
			if !label.MatchString(l) {
				return hostError("host name label " + strconv.Quote(l) + " is not a DNS label")
			}
		}
		// In an image name the first component is a registry only if it holds a
		// "." or ":" or is "localhost"; "harbor/team/app" is a Docker Hub image.
		if port == "" && !strings.Contains(host, ".") && host != "localhost" {
			return hostError("a host name without a dot or a port cannot be named in an image (\"" + host +
				"/team/app\" means Docker Hub); use the fully qualified name or add the port")
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return hostError("port " + strconv.Quote(port) + " is not a number from 1 to 65535 without leading zero")
		}
	}
	return nil
}
