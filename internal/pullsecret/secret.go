package pullsecret

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// ParseSecret checks a Secret the way kubelet reads it as an image pull secret and
// returns its content.
//
// kubelet reads type kubernetes.io/dockerconfigjson with data key .dockerconfigjson
// (see Parse) and the legacy type kubernetes.io/dockercfg with key .dockercfg (see
// ParseLegacy); it silently ignores a Secret of any other type or without that key,
// which ParseSecret reports as ErrWrongType or ErrMissingKey (naming the keys that
// are present, such as a config.json added with the wrong --from-file name).
// StringData is taken into account, as the API server would merge it into Data.
// Every *Error carries the Secret's "namespace/name".
func ParseSecret(s *corev1.Secret) (Config, error) {
	if s == nil {
		return Config{}, newError(ErrWrongType, "", "", "no secret")
	}
	id := s.Name
	if s.Namespace != "" {
		id = s.Namespace + "/" + id
	}
	data := secretData(s)
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		b, err := requireKey(data, corev1.DockerConfigJsonKey, s.Type, id)
		if err != nil {
			return Config{}, err
		}
		return parseJSON(b, id)
	case corev1.SecretTypeDockercfg:
		b, err := requireKey(data, corev1.DockerConfigKey, s.Type, id)
		if err != nil {
			return Config{}, err
		}
		return parseLegacy(b, id)
	default:
		t := s.Type
		if t == "" {
			t = corev1.SecretTypeOpaque // what the API server defaults an empty type to
		}
		msg := "type %q; kubelet reads only type kubernetes.io/dockerconfigjson (key .dockerconfigjson) or kubernetes.io/dockercfg (key .dockercfg) as pull secrets and ignores this one"
		if _, ok := data[corev1.DockerConfigJsonKey]; ok {
			msg += "; the data is there, but a Secret's type cannot be changed: delete it and create it again with type kubernetes.io/dockerconfigjson"
		}
		return Config{}, newError(ErrWrongType, id, "", msg, t)
	}
}

// secretData is Data with StringData laid over it, as the API server stores it.
func secretData(s *corev1.Secret) map[string][]byte {
	if len(s.StringData) == 0 {
		return s.Data
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

// requireKey returns data[key], or ErrMissingKey naming the keys present instead.
func requireKey(data map[string][]byte, key string, typ corev1.SecretType, id string) ([]byte, error) {
	b, ok := data[key]
	if ok && len(b) > 0 {
		return b, nil
	}
	if ok {
		return nil, newError(ErrMissingKey, id, "", "data key %q is empty; kubelet ignores the secret", key)
	}
	present := make([]string, 0, len(data))
	for k := range data {
		present = append(present, k)
	}
	sort.Strings(present)
	if len(present) == 0 {
		return nil, newError(ErrMissingKey, id, "", "type %s needs data key %q; the secret has no data", typ, key)
	}
	return nil, newError(ErrMissingKey, id, "",
		"type %s needs data key %q; keys present: %s (create it with kubectl create secret docker-registry, or --from-file=%s=<file>)",
		typ, key, quoteAll(present), key)
}
