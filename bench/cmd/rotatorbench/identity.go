package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// identityNamespace holds the ServiceAccounts the runbook and the floor run as. It carries no
// benchmark label, so no method targets it.
const identityNamespace = "rotator-bench"

// identity is a user of the API server with a kubeconfig of its own, so the audit log tells its
// requests apart from the controllers' and the other methods'.
type identity struct {
	// Username as the audit log records it.
	Username   string
	Kubeconfig string
}

// newIdentity creates ServiceAccount name, bound to cluster-admin (an operator running the
// runbook is one), and writes a kubeconfig with a one-day token for it.
func newIdentity(ctx context.Context, admin kubernetes.Interface, dir, server, caFile, name string) (identity, error) {
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: identityNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return identity{}, fmt.Errorf("create namespace %s: %w", identityNamespace, err)
	}
	_, err = admin.CoreV1().ServiceAccounts(identityNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return identity{}, fmt.Errorf("create serviceaccount %s: %w", name, err)
	}
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "rotator-bench-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: identityNamespace}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return identity{}, fmt.Errorf("bind %s to cluster-admin: %w", name, err)
	}
	day := int64(86400)
	tok, err := admin.CoreV1().ServiceAccounts(identityNamespace).CreateToken(ctx, name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: &day},
	}, metav1.CreateOptions{})
	if err != nil {
		return identity{}, fmt.Errorf("token for %s: %w", name, err)
	}
	path := filepath.Join(dir, name+".kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster: {server: %q, certificate-authority: %q}
users:
- name: %s
  user: {token: %q}
contexts:
- name: %s
  context: {cluster: sandbox, user: %s}
current-context: %s
`, server, caFile, name, tok.Status.Token, name, name, name)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return identity{}, err
	}
	return identity{Username: "system:serviceaccount:" + identityNamespace + ":" + name, Kubeconfig: path}, nil
}
