// Package doctor diagnoses image pulls that fail with ErrImagePull or ImagePullBackOff the way an
// experienced operator would, and says the fix.
//
// For each container of a pod it reads the waiting reason and kubelet's Events and classifies the
// failure (auth, permission, missing image, TLS, network, other). For auth and permission
// failures, and for unexplained ones, it walks the chain kubelet follows to find a credential and
// stops at the first broken link: the pod's imagePullSecrets (or its ServiceAccount's, copied
// only at pod creation), each Secret's existence, type, data key and JSON, the auths key that
// matches the image by kubelet's rules (package pullsecret), the entry's auth field, and, with
// Probe, the registry's answer to the credential (package verify). Each link that breaks is a
// Finding with a stable Code, a human explanation and the fix as commands to paste, with
// placeholders such as '<password>' where a secret value belongs: a Report never holds a
// secret's value.
//
// A Secret is read only where the identity may (see access.go): Kubernetes RBAC has no
// metadata-only right on secrets, so the shipped ClusterRole rotator-doctor grants none, and the
// doctor asks the API server (SelfSubjectAccessReview) before each Secret read. Where it may not
// read, it diagnoses from pods, kubelet's Events (FailedToRetrieveImagePullSecret names a missing
// secret), ServiceAccounts and workloads, names a 401 it cannot explain PullSecretNotChecked, and
// lists each check it could not make as a NotChecked with the RoleBinding that grants it.
//
// The package writes nothing to the cluster (access and identity reviews are not stored) and
// logs nothing.
package doctor
