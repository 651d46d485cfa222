package pullsecret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// entryJSON is one auths entry as the rotator writes it. The field order is fixed by
// the struct, which keeps Build's output byte-for-byte stable.
type entryJSON struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// Build returns the .dockerconfigjson document for one credential:
//
//	{"auths":{"<key>":{"username":"…","password":"…","auth":"base64(username:password)"}}}
//
// The bytes are deterministic (same input, same output, no trailing newline), so
// Fingerprint of the result identifies the credential and an unchanged credential
// never causes an update of the Secret.
//
// host must already be canonical (see CanonicalHost); Build refuses anything else
// instead of normalising silently, because the caller is the one who can tell the
// user. The key written is SecretKey(host): the host itself, or DockerHubKey for
// Docker Hub. The username must not contain ":" (base64(username:password) cannot
// carry it), neither value may be empty, and both must be UTF-8 (JSON carries
// nothing else). Errors never contain the password.
func Build(host, username, password string) ([]byte, error) {
	canon, changed, err := CanonicalHost(host)
	if err != nil {
		return nil, err
	}
	if changed {
		return nil, newError(ErrInvalidHost, "", "", "%q is not canonical; use %q", host, canon)
	}
	switch {
	case username == "":
		return nil, newError(ErrInvalidCredential, "", "", "empty username")
	case strings.Contains(username, ":"):
		return nil, newError(ErrInvalidCredential, "", "", "username %q contains \":\", which base64(username:password) cannot carry", username)
	case password == "":
		return nil, newError(ErrInvalidCredential, "", "", "empty password for username %q", username)
	// JSON strings carry only UTF-8: the username and password fields would get
	// U+FFFD where the auth field keeps the raw bytes, and the two would disagree.
	case !utf8.ValidString(username):
		return nil, newError(ErrInvalidCredential, "", "", "username is not valid UTF-8")
	case !utf8.ValidString(password):
		return nil, newError(ErrInvalidCredential, "", "", "password of username %q is not valid UTF-8", username)
	}
	doc := struct {
		Auths map[string]entryJSON `json:"auths"`
	}{Auths: map[string]entryJSON{SecretKey(canon): {
		Username: username,
		Password: password,
		Auth:     encodeAuth(username, password),
	}}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Harbor robot names hold "$" and "+"; without HTML escaping the document stays
	// readable in `kubectl get -o yaml` output, and is equally valid JSON.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err // unreachable: strings and maps of strings always encode
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encodeAuth is the auth field: base64(username:password), padded standard encoding
// as Docker writes it.
func encodeAuth(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}
