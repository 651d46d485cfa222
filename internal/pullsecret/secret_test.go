package pullsecret

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const goodDoc = `{"auths":{"reg.io":{"username":"alice","password":"pw"}}}`

func secret(typ corev1.SecretType, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pull"}, Type: typ, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestParseSecret(t *testing.T) {
	cfg, err := ParseSecret(secret(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": goodDoc}))
	if err != nil || cfg.Auths["reg.io"].Username != "alice" {
		t.Fatalf("dockerconfigjson: %+v, %v", cfg, err)
	}
	cfg, err = ParseSecret(secret(corev1.SecretTypeDockercfg, map[string]string{".dockercfg": `{"reg.io":{"username":"alice","password":"pw"}}`}))
	if err != nil || !cfg.Legacy || cfg.Auths["reg.io"].Password != "pw" {
		t.Fatalf("dockercfg: %+v, %v", cfg, err)
	}
	// StringData counts, as the API server merges it into Data.
	s := secret(corev1.SecretTypeDockerConfigJson, nil)
	s.StringData = map[string]string{".dockerconfigjson": goodDoc}
	if _, err := ParseSecret(s); err != nil {
		t.Fatalf("stringData: %v", err)
	}
}

func TestParseSecretErrors(t *testing.T) {
	tests := []struct {
		name string
		s    *corev1.Secret
		want error
		msg  string
	}{
		{"nil", nil, ErrWrongType, "no secret"},
		{"opaque with the right key", secret(corev1.SecretTypeOpaque, map[string]string{".dockerconfigjson": goodDoc}), ErrWrongType, "delete it and create it again"},
		{"empty type", secret("", map[string]string{"x": "y"}), ErrWrongType, `type "Opaque"`},
		{"basic-auth type", secret(corev1.SecretTypeBasicAuth, map[string]string{"username": "a"}), ErrWrongType, `type "kubernetes.io/basic-auth"`},
		{"config.json instead of .dockerconfigjson", secret(corev1.SecretTypeDockerConfigJson, map[string]string{"config.json": goodDoc}), ErrMissingKey, `keys present: "config.json"`},
		{"no data", secret(corev1.SecretTypeDockerConfigJson, nil), ErrMissingKey, "no data"},
		{"empty value", secret(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": ""}), ErrMissingKey, "is empty"},
		{"legacy type, new key", secret(corev1.SecretTypeDockercfg, map[string]string{".dockerconfigjson": goodDoc}), ErrMissingKey, `needs data key ".dockercfg"`},
		{"legacy content in new type", secret(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"reg.io":{"username":"a","password":"b"}}`}), ErrWrongFormat, "legacy"},
		{"new content in legacy type", secret(corev1.SecretTypeDockercfg, map[string]string{".dockercfg": goodDoc}), ErrWrongFormat, `"auths" wrapper`},
		{"bad auth", secret(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{"reg.io":{"auth":"%%"}}}`}), ErrBadAuth, `secret team/pull: entry "reg.io"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecret(tt.s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if tt.s != nil && pe.Secret != "team/pull" {
				t.Errorf("Secret = %q", pe.Secret)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}
