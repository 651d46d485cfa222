package secretsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/rotatorhq/rotator/internal/config"
)

// location is a KV v2 secret: its mount and its path below the mount.
type location struct{ mount, path string }

func (l location) data() string     { return l.mount + "/data/" + l.path }
func (l location) metadata() string { return l.mount + "/metadata/" + l.path }

// ReadKV returns the string under ref.Key in the KV v2 secret ref points at (its version
// ref.Version, or the latest). The value never appears in an error.
func (v *Vault) ReadKV(ctx context.Context, ref config.VaultRef) (string, error) {
	loc, err := v.locate(ctx, "read", ref.Mount, ref.Path)
	if err != nil {
		return "", annotate(err, "read", location{}, ref.Key, ref.Version)
	}
	fail := func(kind error, detail, fix string) error {
		return &Error{Kind: kind, Op: "read", Mount: loc.mount, Path: loc.path, Key: ref.Key, Version: ref.Version, Detail: detail, Fix: fix}
	}
	var params map[string][]string
	if ref.Version > 0 {
		params = map[string][]string{"version": {strconv.Itoa(ref.Version)}}
	}
	var sec *api.Secret
	err = v.do(ctx, func(c *api.Client) error {
		var err error
		sec, err = c.Logical().ReadWithDataWithContext(ctx, loc.data(), params)
		return err
	})
	if err != nil {
		return "", v.opError(err, "read", loc, ref.Key, ref.Version)
	}
	if sec == nil {
		if ref.Version > 0 {
			return "", fail(ErrVersionNotFound, "", fmt.Sprintf("version %d does not exist: pin an existing version (vault kv metadata get -mount=%s %s lists them), or remove version to read the latest", ref.Version, loc.mount, loc.path))
		}
		return "", fail(ErrNotFound, "", fmt.Sprintf("write the secret (vault kv put -mount=%s %s %s=...) or fix the path in the config", loc.mount, loc.path, ref.Key))
	}
	data, _ := sec.Data["data"].(map[string]any)
	if data == nil {
		// A deleted or destroyed version answers with its metadata and no data.
		meta, _ := sec.Data["metadata"].(map[string]any)
		state := "deleted"
		if d, _ := meta["destroyed"].(bool); d {
			state = "destroyed"
		}
		if ref.Version > 0 {
			return "", fail(ErrVersionNotFound, "that version was "+state, "pin another version, undelete it (vault kv undelete), or remove version to read the latest")
		}
		return "", fail(ErrNotFound, "the latest version was "+state, fmt.Sprintf("write the secret again (vault kv put -mount=%s %s ...) or undelete it", loc.mount, loc.path))
	}
	raw, ok := data[ref.Key]
	if !ok {
		return "", fail(ErrKeyNotFound, "the secret has keys: "+keyList(data), "fix key in the config, or add the key to the secret")
	}
	s, ok := raw.(string)
	if !ok || s == "" {
		what := "an empty string"
		if !ok {
			what = fmt.Sprintf("a %T, not a string", raw)
		}
		return "", fail(ErrKeyNotFound, "the key holds "+what, "store the value as a non-empty string")
	}
	return s, nil
}

// WriteKV writes data as a new version of the KV v2 secret at mount/path (the previous version
// stays in its history) and sets its custom metadata. It returns the version written.
func (v *Vault) WriteKV(ctx context.Context, mount, path string, data, customMetadata map[string]string) (int, error) {
	loc, err := v.locate(ctx, "write", mount, path)
	if err != nil {
		return 0, annotate(err, "write", location{}, "", 0)
	}
	var sec *api.Secret
	err = v.do(ctx, func(c *api.Client) error {
		var err error
		sec, err = c.Logical().WriteWithContext(ctx, loc.data(), map[string]any{"data": data})
		return err
	})
	if err != nil {
		return 0, v.opError(err, "write", loc, "", 0)
	}
	version := 0
	if sec != nil {
		if n, ok := sec.Data["version"].(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				version = int(i)
			}
		}
	}
	// Only custom_metadata is sent: the other metadata fields (max_versions...) keep their values.
	err = v.do(ctx, func(c *api.Client) error {
		_, err := c.Logical().WriteWithContext(ctx, loc.metadata(), map[string]any{"custom_metadata": customMetadata})
		return err
	})
	if err != nil {
		e := v.opError(err, "write", loc, "", 0)
		var ve *Error
		if errors.As(e, &ve) && errors.Is(ve.Kind, ErrPermissionDenied) {
			ve.Fix = fmt.Sprintf("version %d was written; to set its custom_metadata grant the rotator's Vault policy \"create\" and \"update\" on %s", version, loc.metadata())
		}
		return version, e
	}
	return version, nil
}

// locate finds the mount of a path and checks that it is KV version 2, with Vault's own
// preflight endpoint (what `vault kv` does): sys/internal/ui/mounts/<path> answers for any
// token allowed something on the path, with the mount's type and options.version.
func (v *Vault) locate(ctx context.Context, op, mount, path string) (location, error) {
	full := path
	if mount != "" {
		full = strings.Trim(mount, "/") + "/" + path
	}
	var sec *api.Secret
	err := v.do(ctx, func(c *api.Client) error {
		var err error
		sec, err = c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+full)
		return err
	})
	asked := location{mount: strings.Trim(mount, "/"), path: path}
	if err != nil {
		var ve *Error
		if errors.As(err, &ve) { // the login failed: it says what happened
			if asked.mount == "" {
				asked.path = full
			}
			return location{}, annotate(err, op, asked, "", 0)
		}
		kind, detail := classify(err)
		e := &Error{Kind: kind, Op: op, Mount: asked.mount, Path: asked.path, Detail: detail, Fix: fixFor(kind, v.address)}
		switch {
		case errors.Is(kind, ErrPermissionDenied):
			if before, after, ok := strings.Cut(full, "/data/"); ok && asked.mount == "" {
				asked = location{mount: before, path: after} // the API path form names the mount
			}
			e.Fix = "the rotator's Vault policy allows nothing on " + full + " (or no secrets engine is mounted there: vault secrets list): " + policyFix(op, asked)
		case errors.Is(kind, ErrNotFound), errors.Is(kind, ErrVault):
			if strings.Contains(strings.ToLower(detail), "no mount") || errors.Is(kind, ErrNotFound) {
				e.Kind, e.Fix = ErrNotFound, "no secrets engine is mounted there: check the path (vault secrets list shows the mounts)"
			}
		}
		return location{}, e
	}
	if sec == nil || sec.Data == nil {
		return location{}, &Error{Kind: ErrNotFound, Op: op, Path: full, Fix: "no secrets engine is mounted there: check the path (vault secrets list shows the mounts)"}
	}
	mountPath, _ := sec.Data["path"].(string)
	mountPath = strings.Trim(mountPath, "/")
	typ, _ := sec.Data["type"].(string)
	version := ""
	if opts, ok := sec.Data["options"].(map[string]any); ok {
		version, _ = opts["version"].(string)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(full, mountPath), "/")
	if mount == "" {
		// Without a mount the path is the API path, secret/data/<path>.
		rel = strings.TrimPrefix(rel, "data/")
	}
	loc := location{mount: mountPath, path: rel}
	switch {
	case typ != "kv" && typ != "generic":
		return location{}, &Error{Kind: ErrNotKVv2, Op: op, Mount: loc.mount, Path: loc.path,
			Detail: fmt.Sprintf("mount %s/ is a %q secrets engine", loc.mount, typ), Fix: "use a path on a KV version 2 mount"}
	case version != "2":
		return location{}, &Error{Kind: ErrNotKVv2, Op: op, Mount: loc.mount, Path: loc.path,
			Detail: fmt.Sprintf("mount %s/ is KV version 1", loc.mount),
			Fix:    fmt.Sprintf("the rotator reads and writes KV version 2 (versions, metadata): upgrade the mount (vault kv enable-versioning %s/) or use a KV v2 mount", loc.mount)}
	case loc.path == "":
		return location{}, &Error{Kind: ErrNotFound, Op: op, Mount: loc.mount, Path: full, Fix: "the path names only the mount: add the secret's path below it"}
	}
	return loc, nil
}

// opError describes a failed request on a located secret.
func (v *Vault) opError(err error, op string, loc location, key string, version int) error {
	var ve *Error
	if errors.As(err, &ve) {
		return annotate(err, op, loc, key, version)
	}
	kind, detail := classify(err)
	e := &Error{Kind: kind, Op: op, Mount: loc.mount, Path: loc.path, Key: key, Version: version, Detail: detail, Fix: fixFor(kind, v.address)}
	if errors.Is(kind, ErrPermissionDenied) {
		e.Fix = policyFix(op, loc)
	}
	return e
}

func policyFix(op string, loc location) string {
	if loc.mount == "" {
		return "grant the rotator's Vault policy access to the secret's data path"
	}
	if op == "write" {
		return fmt.Sprintf("grant the rotator's Vault policy \"create\" and \"update\" on %s and %s", loc.data(), loc.metadata())
	}
	return fmt.Sprintf("grant the rotator's Vault policy \"read\" on %s", loc.data())
}

// annotate adds to an *Error what it does not say yet: the secret (for a login failure, the
// secret the login was for) and the operation.
func annotate(err error, op string, loc location, key string, version int) error {
	var ve *Error
	if !errors.As(err, &ve) {
		return err
	}
	if ve.Op == "log in" && ve.Purpose == "" {
		ve.Purpose = op
	}
	if ve.Mount == "" && ve.Path == "" {
		ve.Mount, ve.Path = loc.mount, loc.path
	}
	if ve.Key == "" {
		ve.Key = key
	}
	if ve.Version == 0 {
		ve.Version = version
	}
	return err
}

func keyList(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "(none)"
	}
	return strings.Join(keys, ", ")
}
