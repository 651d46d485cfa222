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

// The sandbox binds its users to the very ClusterRoles deploy/rbac ships, loaded from the
// repository, so the sandbox proves the shipped RBAC, not a private copy of it.
const (
	rotatorClusterRoleName = "rotator"
	rotatorClusterRoleFile = "deploy/rbac/clusterrole.yaml"
	doctorClusterRoleFile  = "deploy/rbac/clusterrole-doctor.yaml"
)

// GrantShippedRoles binds the "rotator" user to the rotator ClusterRole, and the
// "rotator-doctor" user to the doctor's.
func (r *Rig) GrantShippedRoles(ctx context.Context) error {
	for _, g := range []struct{ user, file, name string }{
		{rotatorUser, rotatorClusterRoleFile, rotatorClusterRoleName},
		{doctorUser, doctorClusterRoleFile, "rotator-doctor"},
	} {
		if err := r.grant(ctx, g.user, g.file, g.name); err != nil {
			return err
		}
	}
	return nil
}

// grant creates the ClusterRole of file, named name, and binds user to it.
func (r *Rig) grant(ctx context.Context, user, file, name string) error {
	role, err := loadClusterRole(file, name)
	if err != nil {
		return err
	}
	if _, err := r.Admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}
	if _, err := r.Admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create ClusterRoleBinding %s: %w", name, err)
	}
	return nil
}

func loadClusterRole(file, name string) (*rbacv1.ClusterRole, error) {
	path, err := repoFile(file)
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
	role.Name = name
	return &role, nil
}
