package sandbox

import (
	"context"
	"fmt"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// RotatorClusterRole is the sandbox's copy of what the rotator needs cluster-wide; deploy/ holds
// the manifests users apply. It is loaded from deploy/rbac/clusterrole.yaml when the rig runs from
// the repository, so the sandbox proves the shipped RBAC, not a private copy of it.
const rotatorClusterRoleName = "rotator"

// GrantRotator binds the "rotator" user to the rotator ClusterRole.
func (r *Rig) GrantRotator(ctx context.Context) error {
	role, err := loadClusterRole()
	if err != nil {
		return err
	}
	if _, err := r.Admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "rotator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: rotatorUser}},
	}
	if _, err := r.Admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create ClusterRoleBinding rotator: %w", err)
	}
	return nil
}

func loadClusterRole() (*rbacv1.ClusterRole, error) {
	path, err := repoFile("deploy/rbac/clusterrole.yaml")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &role); err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", path, err)
	}
	role.Name = rotatorClusterRoleName
	return &role, nil
}
