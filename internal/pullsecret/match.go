package pullsecret

import (
	"sort"
)

// Candidate is one credential kubelet would offer for an image.
type Candidate struct {
	// Source names where the credential came from, as given to Keyring.Add
	// (typically the Secret's "namespace/name").
	Source string
	// Key is the auths key exactly as written in the secret.
	Key string
	// Entry is the credential.
	Entry Entry
}

// Keyring indexes the entries of one or more pull secrets the way kubelet's
// BasicDockerKeyring does, to predict which credentials kubelet offers for an
// image and in which order. The zero value is ready to use.
type Keyring struct {
	index []string               // kubelet index keys, unique, reverse-sorted
	creds map[string][]Candidate // index key → candidates in Add order
}

// Add adds the entries of cfg, recording source with each. Call it in the order of
// the pod's imagePullSecrets: for equal keys kubelet offers earlier secrets first.
//
// Within one secret, two keys that kubelet reduces to the same index key (say
// "registry.example.com" and "https://registry.example.com/v2/") come in the order
// of Go's map iteration in kubelet, that is at random; here they come sorted.
func (k *Keyring) Add(source string, cfg Config) {
	if k.creds == nil {
		k.creds = make(map[string][]Candidate)
	}
	for _, key := range cfg.Keys() {
		idx, ok := kubeletKey(key)
		if !ok {
			continue
		}
		if _, seen := k.creds[idx]; !seen {
			k.index = append(k.index, idx)
		}
		k.creds[idx] = append(k.creds[idx], Candidate{Source: source, Key: key, Entry: cfg.Auths[key]})
	}
	// kubelet reverse-sorts its index so that longer, more specific keys come
	// first: "quay.io/coreos" before "quay.io", "a.example.com" before "*.example.com".
	sort.Sort(sort.Reverse(sort.StringSlice(k.index)))
}

// Lookup returns the credentials kubelet offers for image, in the order kubelet
// tries them (it pulls with each in turn until one succeeds), or nil when no key
// matches and kubelet would pull anonymously. Docker Hub's key (DockerHubKey) is
// used for Docker Hub images only when no other key matched, as in kubelet. An
// image name kubelet could not parse gets nil.
func (k *Keyring) Lookup(image string) []Candidate {
	img, err := kubeletImage(image)
	if err != nil {
		return nil
	}
	var out []Candidate
	for _, idx := range k.index {
		if globMatch(idx, img) {
			out = append(out, k.creds[idx]...)
		}
	}
	if len(out) == 0 && isDefaultRegistryMatch(img) {
		out = append(out, k.creds[dockerHubIndexKey]...)
	}
	return out
}

// Candidates returns every credential of the keyring, most specific key first.
func (k *Keyring) Candidates() []Candidate {
	var out []Candidate
	for _, idx := range k.index {
		out = append(out, k.creds[idx]...)
	}
	return out
}

// Match returns the credential kubelet would try first for image from cfg, and the
// key it came from as written in cfg. ok is false when kubelet would find none.
func Match(cfg Config, image string) (entry Entry, key string, ok bool) {
	var k Keyring
	k.Add("", cfg)
	c := k.Lookup(image)
	if len(c) == 0 {
		return Entry{}, "", false
	}
	return c[0].Entry, c[0].Key, true
}

// KeyMatchesImage reports whether kubelet considers the auths key key applicable to
// image: scheme, /v1/ and /v2/ are ignored, host labels match as filepath.Match
// globs one for one ("*.example.com" matches "a.example.com" but neither
// "example.com" nor "a.b.example.com"), the port must be equal (a key without port
// does not match an image with one, and the reverse), and the key's path must be a
// prefix of the image's repository path. DockerHubKey matches Docker Hub images;
// in a keyring kubelet consults it only when no other key matches (see Match).
func KeyMatchesImage(key, image string) bool {
	return MismatchReason(key, image) == ""
}

// MismatchReason explains why kubelet would not use key for image, for instance
// `port "5001" of the key differs from port "5000" of the image`, or returns ""
// when it would.
func MismatchReason(key, image string) string {
	idx, ok := kubeletKey(key)
	if !ok || idx == "" {
		return "kubelet cannot read the key as host[:port][/path] and skips it"
	}
	img, err := kubeletImage(image)
	if err != nil {
		return "the image reference is not valid"
	}
	why := mismatch(idx, img)
	if why != "" && idx == dockerHubIndexKey && isDefaultRegistryMatch(img) {
		return ""
	}
	return why
}

// LiteralMatch reports whether key names host the way Docker, containerd's own
// registry configuration and most other tools look credentials up: the key is the
// host itself, byte for byte. For Docker Hub (host "docker.io" or
// "index.docker.io") Docker's own key DockerHubKey also counts. A key that
// KeyMatchesImage accepts but LiteralMatch rejects (a scheme, /v2/, a glob, a path)
// works in kubelet and breaks in those tools.
func LiteralMatch(key, host string) bool {
	if key == host {
		return true
	}
	return (host == DockerHubHost || host == dockerHubIndexKey) && key == DockerHubKey
}
