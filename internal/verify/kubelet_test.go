package verify_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/internal/verify/verifytest"
)

func pullSecret(t *testing.T, name, key, user, pass string) corev1.Secret {
	t.Helper()
	doc := `{"auths":{"` + key + `":{"username":"` + user + `","password":"` + pass + `"}}}`
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(doc)},
	}
}

// otherPort returns host with its port plus one: a key for a registry next door.
func otherPort(t *testing.T, host string) string {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return net.JoinHostPort(h, strconv.Itoa(n%65535+1))
}

func TestPullCheckAsKubelet(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users()})
	reg.Push(t, "team/app:1")
	image := reg.Image("team/app:1")
	good := pullSecret(t, "new", reg.Host, "robot$team+pull", goodPass)
	expired := pullSecret(t, "old", reg.Host, "robot$team+old", expiredPass)
	var c verify.Checker

	t.Run("matching key", func(t *testing.T) {
		if err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{good}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("key with scheme and /v2/ matches in kubelet", func(t *testing.T) {
		s := pullSecret(t, "scheme", "http://"+reg.Host+"/v2/", "robot$team+pull", goodPass)
		if err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{s}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expired first, valid second: kubelet tries both", func(t *testing.T) {
		if err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{expired, good}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("only the expired credential", func(t *testing.T) {
		err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{expired})
		pe := requirePullError(t, err, image, verify.ReasonUnauthorized)
		if pe.Key != reg.Host || pe.Source != "team/old" || pe.Stage != verify.StageManifest {
			t.Errorf("Key, Source, Stage = %q, %q, %q", pe.Key, pe.Source, pe.Stage)
		}
		if !strings.Contains(err.Error(), `with key "`+reg.Host+`" of secret team/old`) {
			t.Errorf("error does not name key and secret: %v", err)
		}
	})
	t.Run("key on another port", func(t *testing.T) {
		key := otherPort(t, reg.Host)
		err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{pullSecret(t, "next-door", key, "robot$team+pull", goodPass)})
		pe := requirePullError(t, err, image, verify.ReasonNoMatchingKey)
		for _, want := range []string{`image host "` + reg.Host + `"`, `"` + key + `"`, "secret team/next-door", "port", "kubelet would pull anonymously"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %q: %v", want, err)
			}
		}
		if pe.Registry != reg.Host {
			t.Errorf("Registry = %q", pe.Registry)
		}
	})
	t.Run("secret of a type kubelet ignores", func(t *testing.T) {
		s := good
		s.Type = corev1.SecretTypeOpaque
		err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{s})
		requirePullError(t, err, image, verify.ReasonNoMatchingKey)
		if !strings.Contains(err.Error(), "ignored by kubelet") || !strings.Contains(err.Error(), `type "Opaque"`) {
			t.Errorf("error does not explain the ignored secret: %v", err)
		}
	})
	t.Run("secret with stringData only", func(t *testing.T) {
		s := good
		s.StringData = map[string]string{corev1.DockerConfigJsonKey: string(good.Data[corev1.DockerConfigJsonKey])}
		s.Data = nil
		err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{s})
		requirePullError(t, err, image, verify.ReasonNoMatchingKey)
		if !strings.Contains(err.Error(), "not stringData") {
			t.Errorf("error does not explain the ignored secret: %v", err)
		}
	})
	t.Run("secret kubelet refuses as a whole", func(t *testing.T) {
		bad := good
		bad.Name = "broken"
		bad.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + reg.Host + `":{"auth":"!!"}}}`)}
		err := c.PullCheckAsKubelet(ctxT(t), image, []corev1.Secret{good, bad})
		pe := requirePullError(t, err, image, verify.ReasonInvalidSecret)
		if !errors.Is(err, pullsecret.ErrBadAuth) || pe.Source != "team/broken" {
			t.Errorf("error = %v, Source %q", err, pe.Source)
		}
	})
}

func TestKeychainFromSecrets(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users()})
	reg.Push(t, "team/app:1")
	image := reg.Image("team/app:1")
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}

	kc, err := verify.KeychainFromSecrets(ctxT(t), []corev1.Secret{pullSecret(t, "new", reg.Host, "robot$team+pull", goodPass)})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := kc.Resolve(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := (verify.Checker{}).PullCheck(ctxT(t), image, auth); err != nil {
		t.Fatalf("PullCheck with the keychain's credential: %v", err)
	}

	// A key on another port resolves to anonymous, as in kubelet.
	kc, err = verify.KeychainFromSecrets(ctxT(t), []corev1.Secret{pullSecret(t, "next-door", otherPort(t, reg.Host), "robot$team+pull", goodPass)})
	if err != nil {
		t.Fatal(err)
	}
	if auth, _ := kc.Resolve(ref.Context()); auth != authn.Anonymous {
		t.Errorf("key on another port resolved to %v, want anonymous", auth)
	}

	// A broken secret is reported with pullsecret's typed error.
	bad := pullSecret(t, "bad", reg.Host, "u", "p")
	bad.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{"` + reg.Host + `":{"auth":"!!"}}}`)
	_, err = verify.KeychainFromSecrets(ctxT(t), []corev1.Secret{bad})
	var pe *pullsecret.Error
	if !errors.Is(err, pullsecret.ErrBadAuth) || !errors.As(err, &pe) || pe.Secret != "team/bad" {
		t.Errorf("error = %v, want ErrBadAuth for team/bad", err)
	}
	// An auth mismatch is no reason to refuse the keychain: kubelet uses the auth field.
	odd := pullSecret(t, "odd", reg.Host, "robot$team+pull", "other")
	odd.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{"` + reg.Host + `":{"username":"x","auth":"` +
		b64("robot$team+pull:"+goodPass) + `"}}}`)
	if _, err := verify.KeychainFromSecrets(ctxT(t), []corev1.Secret{odd}); err != nil {
		t.Errorf("auth mismatch refused: %v", err)
	}
}
