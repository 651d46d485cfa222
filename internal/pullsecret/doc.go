// Package pullsecret knows the image pull secret formats and the rules kubelet uses
// to pick a credential from them. It does no I/O.
//
// Two formats exist. The current one (Secret type kubernetes.io/dockerconfigjson,
// data key .dockerconfigjson) wraps its entries in {"auths": {...}}; the legacy one
// (kubernetes.io/dockercfg, key .dockercfg) has the entries at the top level. Each
// entry is keyed by a registry "key" such as "registry.example.com:5000" and holds a
// username, a password and auth = base64(username:password).
//
// kubelet matches keys loosely (scheme and /v1/ /v2/ ignored, host globs, path
// prefixes), while Docker, containerd's own configuration and many other tools
// compare the key literally. The rotator therefore writes the bare canonical
// host[:port] that every tool agrees on (see [CanonicalHost] and [Build]), and
// [Match] and [LiteralMatch] let a caller say when a user's key works in one
// family of tools and not the other.
//
// Nothing in this package puts a password or an auth value into an error message or
// into the text form of a value; the hash from [Fingerprint] is safe to publish.
package pullsecret
