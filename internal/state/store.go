package state

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Keys of the state Secret's data.
const (
	keyState           = "state.json"
	keyCurrentPassword = "current-password"
	keyPendingPassword = "pending-password"
)

// Labels of every state Secret (Save sets them): LabelStateOf holds the credential's name, so
// the states of a namespace are found without the config that names the credentials.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelStateOf   = "rotator.dev/state-of"
)

// Store reads and writes state Secrets in one namespace.
type Store struct {
	Client    kubernetes.Interface
	Namespace string
}

// SecretName of the state of credential.
func SecretName(credential string) string { return "rotator-state-" + credential }

// SplitKey reads the credential and the fleet member out of the key a state is kept under:
// "<credential>" for the rotator's own cluster (cluster ""), "<credential>.<cluster>" for a
// member (rotation.Runner's stateKey). Exact, not a guess: the config makes both names DNS
// labels, which hold no dot.
func SplitKey(key string) (credential, cluster string) {
	credential, cluster, _ = strings.Cut(key, ".")
	return credential, cluster
}

// Key is the key of the state of credential in cluster ("" for the rotator's own): the
// inverse of SplitKey, for readers of a member's state outside the runner.
func Key(credential, cluster string) string {
	if cluster == "" {
		return credential
	}
	return credential + "." + cluster
}

// Load returns the state of credential; a missing state Secret is an empty state.
func (s *Store) Load(ctx context.Context, credential string) (*State, error) {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, SecretName(credential), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state secret %s/%s: %w", s.Namespace, SecretName(credential), err)
	}
	return Decode(sec)
}

// Decode reads the state out of its Secret (as Load got it, or as an informer's cache holds it).
func Decode(sec *corev1.Secret) (*State, error) {
	st := &State{resourceVersion: sec.ResourceVersion, uid: sec.UID}
	if b := sec.Data[keyState]; len(b) > 0 {
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("state secret %s/%s is corrupt (%w): delete it to start over; the rotator then issues a new credential and leaves the old ones to be revoked by hand", sec.Namespace, sec.Name, err)
		}
	}
	if st.Current != nil {
		st.Current.Password = string(sec.Data[keyCurrentPassword])
	}
	if st.Pending != nil {
		st.Pending.Password = string(sec.Data[keyPendingPassword])
	}
	return st, nil
}

// Save writes st. It fails with a conflict if the Secret changed since it was loaded, so two
// writers never silently lose each other's record of an issued credential.
func (s *Store) Save(ctx context.Context, credential string, st *State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	data := map[string][]byte{keyState: b}
	if st.Current != nil {
		data[keyCurrentPassword] = []byte(st.Current.Password)
	}
	if st.Pending != nil {
		data[keyPendingPassword] = []byte(st.Pending.Password)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: SecretName(credential), Namespace: s.Namespace, ResourceVersion: st.resourceVersion,
			Labels: map[string]string{LabelManagedBy: "rotator", LabelStateOf: credential},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	var saved *corev1.Secret
	if st.resourceVersion == "" {
		saved, err = s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, sec, fieldmanager.Create())
	} else {
		saved, err = s.Client.CoreV1().Secrets(s.Namespace).Update(ctx, sec, fieldmanager.Update())
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("save state of %s: namespace %s does not exist: create it (it holds the rotator's state): %w", credential, s.Namespace, err)
		}
		return fmt.Errorf("save state secret %s/%s: %w", s.Namespace, sec.Name, err)
	}
	st.resourceVersion, st.uid = saved.ResourceVersion, saved.UID
	return nil
}

// Listed is one state found by List: Err is set (and State nil) when its Secret is corrupt.
type Listed struct {
	Credential string
	State      *State
	Err        error
}

// List returns the state of every credential that has a state Secret in the namespace, by
// credential name. A Secret is one when it carries LabelStateOf and is named after it
// (SecretName), so another Secret given the label is not taken for a state.
func (s *Store) List(ctx context.Context) ([]Listed, error) {
	list, err := s.Client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelStateOf})
	if err != nil {
		return nil, fmt.Errorf("list state secrets in namespace %s: %w", s.Namespace, err)
	}
	var out []Listed
	for i := range list.Items {
		sec := &list.Items[i]
		cred := sec.Labels[LabelStateOf]
		if cred == "" || sec.Name != SecretName(cred) {
			continue
		}
		st, err := Decode(sec)
		out = append(out, Listed{Credential: cred, State: st, Err: err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Credential < out[j].Credential })
	return out, nil
}
