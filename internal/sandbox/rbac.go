package sandbox

import (
	"context"
	"fmt"
	"os"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// The sandbox binds its users to the very ClusterRoles deploy/rbac ships, loaded from the
// repository, so the sandbox proves the shipped RBAC, not a private copy of it.
const (
	rotatorClusterRoleName = "rotator"
	rotatorClusterRoleFile = "deploy/rbac/clusterrole.yaml"
	doctorClusterRoleFile  = "deploy/rbac/clusterrole-doctor.yaml"
	// DoctorSecretsRole is the ClusterRole a team binds in its namespaces for the doctor's full
	// checks there (it reads their Secrets); the sandbox creates it and binds it nowhere.
	DoctorSecretsRole        = "rotator-doctor-secrets"
	doctorFullChecksRoleFile = "deploy/rbac/doctor-secrets-role.yaml"
)

// GrantShippedRoles binds the "rotator" user to the rotator ClusterRole, and the
// "rotator-doctor" user to the doctor's, which reads no Secret; it creates the doctor's
// rotator-doctor-secrets ClusterRole unbound (BindDoctorSecrets binds it in a namespace).
func (r *Rig) GrantShippedRoles(ctx context.Context) error { return grantShippedRoles(ctx, r.Admin) }

// grantShippedRoles is GrantShippedRoles in the cluster of admin (the rig's or an extra one).
func grantShippedRoles(ctx context.Context, admin kubernetes.Interface) error {
	for _, g := range []struct{ user, file, name string }{
		{rotatorUser, rotatorClusterRoleFile, rotatorClusterRoleName},
		{doctorUser, doctorClusterRoleFile, "rotator-doctor"},
	} {
		if err := grant(ctx, admin, g.user, g.file, g.name); err != nil {
			return err
		}
	}
	role, err := loadClusterRole(doctorFullChecksRoleFile, DoctorSecretsRole)
	if err != nil {
		return err
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create ClusterRole %s: %w", role.Name, err)
	}
	return nil
}

// DoctorUser is the user of DoctorKubeconfig, as the API server's audit log names it.
const DoctorUser = doctorUser

// BindDoctorSecrets does what a team does for the doctor's full checks in its namespace ns: a
// RoleBinding of ClusterRole rotator-doctor-secrets to the "rotator-doctor" user, there only. It
// returns once the API server authorises the doctor's reads there.
func (r *Rig) BindDoctorSecrets(ctx context.Context, ns string) error {
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: DoctorSecretsRole, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: DoctorSecretsRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: doctorUser}},
	}
	if _, err := r.Admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create RoleBinding %s/%s: %w", ns, DoctorSecretsRole, err)
	}
	// RBAC is read from the API server's informer cache: wait until the binding is in force.
	for i := 0; i < 100; i++ {
		sar, err := r.Admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: doctorUser, ResourceAttributes: &authzv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "secrets"},
		}}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("sandbox: access review: %w", err)
		}
		if sar.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("sandbox: RoleBinding %s/%s not in force after 10s", ns, DoctorSecretsRole)
}

// grant creates the ClusterRole of file, named name, and binds user to it.
func grant(ctx context.Context, admin kubernetes.Interface, user, file, name string) error {
	role, err := loadClusterRole(file, name)
	if err != nil {
		return err
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
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
