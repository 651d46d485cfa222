package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// grantRotatorNamespaceRole gives the "rotator" user the shipped Role of the rotator's own
// namespace (deploy/base/role.yaml: its Leases and state Secrets), bound to the user.
func (r *Rig) grantRotatorNamespaceRole(ctx context.Context) error {
	return r.grantNamespaceRole(ctx, "deploy/base/role.yaml", "rotator-user")
}

// GrantFleetRole gives the "rotator" user the Role a fleet adds in the rotator's namespace
// (deploy/rbac/fleet-role.yaml: the Leases of every cluster's shard and run lock), as an
// operator of a fleet applies it.
func (r *Rig) GrantFleetRole(ctx context.Context) error {
	return r.grantNamespaceRole(ctx, "deploy/rbac/fleet-role.yaml", "rotator-user-fleet")
}

// grantNamespaceRole creates the Role of file's first document and binds the "rotator" user to
// it (binding).
func (r *Rig) grantNamespaceRole(ctx context.Context, file, binding string) error {
	path, err := repoFile(file)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, _, _ := bytes.Cut(b, []byte("\n---"))
	var role rbacv1.Role
	if err := yaml.UnmarshalStrict(doc, &role); err != nil {
		return fmt.Errorf("sandbox: %s: %w", path, err)
	}
	if err := r.CreateNamespace(ctx, role.Namespace, nil); err != nil {
		return err
	}
	if _, err := r.Admin.RbacV1().Roles(role.Namespace).Create(ctx, &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create Role %s/%s: %w", role.Namespace, role.Name, err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: binding, Namespace: role.Namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: rotatorUser}},
	}
	if _, err := r.Admin.RbacV1().RoleBindings(role.Namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create RoleBinding %s/%s: %w", role.Namespace, binding, err)
	}
	return nil
}
