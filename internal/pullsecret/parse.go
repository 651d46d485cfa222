package pullsecret

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// rawEntry is an auths entry as found in a document. encoding/json matches field
// names case-insensitively, as it does for kubelet, which uses the same package.
type rawEntry struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Email         string `json:"email"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// Parse reads the content of a .dockerconfigjson key: {"auths": {key: entry}}.
//
// It checks what kubelet needs: valid JSON of that shape, at least one entry, keys
// kubelet can parse, an auth field that decodes to "username:password" and agrees
// with the username and password fields when those are present too, and a username
// and password in every entry. An entry with only an auth field is valid.
//
// Parse reports every problem it finds at once (joined with errors.Join, each an
// *Error wrapping one sentinel). When the document itself is readable it also returns
// the entries kubelet would use, even alongside an error; see Config.Auths.
func Parse(data []byte) (Config, error) { return parseJSON(data, "") }

// ParseLegacy reads the content of a .dockercfg key (Secret type
// kubernetes.io/dockercfg): the entries at the top level, without the "auths"
// wrapper. It checks the same things as Parse.
func ParseLegacy(data []byte) (Config, error) { return parseLegacy(data, "") }

func parseJSON(data []byte, secret string) (Config, error) {
	var doc struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return Config{}, jsonError(err, secret, "")
	}
	if len(doc.Auths) == 0 {
		return Config{}, noAuthsError(data, secret)
	}
	return parseEntries(doc.Auths, false, secret)
}

func parseLegacy(data []byte, secret string) (Config, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return Config{}, jsonError(err, secret, "")
	}
	if len(doc) == 0 {
		return Config{}, newError(ErrNoAuths, secret, "", "the document has no registry entry")
	}
	for k := range doc {
		// kubelet would read "auths" as a registry key with empty credentials:
		// nothing fails loudly, every pull is anonymous.
		if strings.EqualFold(k, "auths") {
			return Config{}, newError(ErrWrongFormat, secret, "",
				`the legacy .dockercfg document has an "auths" wrapper, which belongs to the .dockerconfigjson format; use type kubernetes.io/dockerconfigjson with key .dockerconfigjson`)
		}
	}
	return parseEntries(doc, true, secret)
}

// parseEntries checks every entry, in sorted key order so errors come out stable.
func parseEntries(raw map[string]json.RawMessage, legacy bool, secret string) (Config, error) {
	cfg := Config{Legacy: legacy, Auths: make(map[string]Entry, len(raw))}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, key := range keys {
		e, entryErrs, use := parseEntry(raw[key], secret, key)
		errs = append(errs, entryErrs...)
		if use {
			cfg.Auths[key] = e
		}
	}
	return cfg, errors.Join(errs...)
}

// parseEntry returns the entry as kubelet would use it, its problems, and whether
// kubelet would use it at all.
func parseEntry(raw json.RawMessage, secret, key string) (Entry, []error, bool) {
	var re rawEntry
	if err := json.Unmarshal(raw, &re); err != nil {
		return Entry{}, []error{jsonError(err, secret, key)}, false
	}
	if k, ok := kubeletKey(key); !ok || k == "" {
		return Entry{}, []error{newError(ErrInvalidKey, secret, key,
			"kubelet cannot read it as host[:port][/path] and skips this entry")}, false
	}
	e := Entry{Username: re.Username, Password: re.Password, Email: re.Email}
	var errs []error
	if re.Auth != "" {
		user, pass, err := decodeAuth(re.Auth)
		if err != nil {
			return Entry{}, []error{newError(ErrBadAuth, secret, key, "%s; kubelet refuses the whole secret", err.Error())}, false
		}
		// The decoded username is not shown: when the field was built wrongly the
		// text before the first ":" may be part of a password.
		switch {
		case re.Username != "" && re.Username != user:
			errs = append(errs, newError(ErrAuthMismatch, secret, key,
				"the auth field's username differs from the username field %q; kubelet and Docker use the auth field", re.Username))
		case re.Password != "" && re.Password != pass:
			errs = append(errs, newError(ErrAuthMismatch, secret, key,
				"the auth field's password differs from the password field; kubelet and Docker use the auth field"))
		}
		e.Username, e.Password, e.FromAuth = user, pass, true
	}
	if msg := missingCredentials(e, re); msg != "" {
		errs = append(errs, newError(ErrNoCredentials, secret, key, "%s", msg))
	}
	return e, errs, true
}

// missingCredentials says what an entry lacks for a basic-auth pull, or "".
func missingCredentials(e Entry, re rawEntry) string {
	var missing []string
	if e.Username == "" {
		missing = append(missing, "username")
	}
	if e.Password == "" {
		missing = append(missing, "password")
	}
	if len(missing) == 0 {
		return ""
	}
	msg := "no " + strings.Join(missing, " and ")
	if e.FromAuth {
		msg = "the auth field decodes to an empty " + strings.Join(missing, " and ")
	}
	if re.IdentityToken != "" || re.RegistryToken != "" {
		msg += "; kubelet ignores identitytoken and registrytoken"
	}
	return msg + "; kubelet would pull with incomplete credentials"
}

// decodeAuth decodes base64(username:password) the way kubelet's
// decodeDockerConfigFieldAuth does: padded standard encoding when the value ends in
// "=", unpadded otherwise, split at the first ":". Its errors never quote the value.
func decodeAuth(field string) (username, password string, err error) {
	var decoded []byte
	if strings.HasSuffix(strings.TrimSpace(field), "=") {
		decoded, err = base64.StdEncoding.DecodeString(field)
	} else {
		decoded, err = base64.RawStdEncoding.DecodeString(field)
	}
	if err != nil {
		return "", "", fmt.Errorf("the auth field is not valid base64")
	}
	user, pass, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", fmt.Errorf(`the auth field does not decode to "username:password" (no ":")`)
	}
	return user, pass, nil
}

// jsonError turns an encoding/json error into an *Error that locates the problem
// without quoting the document: a SyntaxError's text quotes the offending
// character, which may belong to a password.
func jsonError(err error, secret, key string) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return newError(ErrMalformedJSON, secret, key, "invalid JSON syntax at byte offset %d; kubelet refuses the whole secret", syn.Offset)
	case errors.As(err, &typ):
		where := "the document"
		if typ.Field != "" {
			where = fmt.Sprintf("field %q", typ.Field)
		}
		return newError(ErrMalformedJSON, secret, key, "%s is a JSON %s, want %s; kubelet refuses the whole secret", where, typ.Value, jsonKind(typ.Type.Kind().String()))
	default:
		return newError(ErrMalformedJSON, secret, key, "not valid JSON; kubelet refuses the whole secret")
	}
}

// jsonKind names a Go kind in JSON terms for error messages.
func jsonKind(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "an object"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	default:
		return goKind
	}
}

// noAuthsError explains an empty or missing "auths" object, recognising the two
// usual causes: legacy .dockercfg content, and a docker config.json whose
// credentials sit in a credential helper.
func noAuthsError(data []byte, secret string) *Error {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(data, &top) // already known to be valid JSON, or null
	var hosts, helpers []string
	for k := range top {
		switch {
		case strings.EqualFold(k, "credsStore"), strings.EqualFold(k, "credHelpers"):
			helpers = append(helpers, k)
		case strings.ContainsAny(k, ".:") || k == "localhost":
			hosts = append(hosts, k)
		}
	}
	sort.Strings(hosts)
	sort.Strings(helpers)
	switch {
	case len(hosts) > 0:
		return newError(ErrWrongFormat, secret, "",
			`no "auths" object, but top-level keys that look like registries (%s): this is the legacy .dockercfg format; wrap the entries in {"auths": …} or use type kubernetes.io/dockercfg with key .dockercfg`,
			quoteAll(hosts))
	case len(helpers) > 0:
		return newError(ErrNoAuths, secret, "",
			"no registry entry, only %s: the credentials live in a credential helper of the machine that ran docker login, which kubelet cannot use; write them inline (kubectl create secret docker-registry)",
			quoteAll(helpers))
	default:
		return newError(ErrNoAuths, secret, "", `no entry in an "auths" object; kubelet would pull anonymously`)
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
