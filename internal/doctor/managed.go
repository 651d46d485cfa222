package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/providers"
)

// ManagedCredential lets the doctor ask the provider about a credential the rotator manages.
type ManagedCredential struct {
	Provider providers.Provider
	// Spec is the credential's spec as the rotation uses it (NamePrefix, Projects).
	Spec providers.Spec
}

// managedFacts says what the rotator knows about the credential in s, which the registry
// refused: from the secret's annotations, the rotator's state, and (when probing, with a
// provider configured) the provider's list of the credential's robots or tokens.
func (d *Doctor) managedFacts(ctx context.Context, v *view, s *corev1.Secret, cred, image string, denied bool) []string {
	ann := s.Annotations
	id, robot := ann[secretsync.AnnotationCredentialID], ann[secretsync.AnnotationCredentialName]
	held := orUnknown(robot)
	if id != "" {
		held += " (id " + id + ")"
	}
	facts := []string{fmt.Sprintf("secret %q is written by rotator credential %q and holds %s", s.Name, cred, held)}
	now := d.now()
	if exp, err := time.Parse(time.RFC3339, ann[secretsync.AnnotationExpiresAt]); err == nil && !exp.After(now) {
		facts = append(facts, fmt.Sprintf("it expired at %s", exp.UTC().Format(time.RFC3339)))
	}
	facts = append(facts, d.stateFacts(ctx, v, cred, id, now)...)
	facts = append(facts, d.providerFacts(ctx, cred, id, robot, image, denied, now)...)
	return facts
}

// stateFacts compares the secret's credential with the rotator's state.
func (d *Doctor) stateFacts(ctx context.Context, v *view, cred, id string, now time.Time) []string {
	if d.StateNamespace == "" {
		return nil
	}
	key := state.Key(cred, d.Cluster)
	name := state.SecretName(key)
	acc, where := v.access, ""
	if d.StateKube != nil { // a member's state is in the rotator's own cluster: asked there
		acc, where = v.stateAccess(d.StateKube), " of the rotator's own cluster"
	}
	unread := func(reason string) []string {
		nc := acc.stateDenied(ctx, d.StateNamespace, name, reason)
		v.note(&nc)
		return []string{fmt.Sprintf("the doctor may not read the rotator's state (secret %s in namespace %s%s), so it cannot say whether this is the rotator's current credential", name, d.StateNamespace, where)}
	}
	if !acc.may(ctx, "get", d.StateNamespace, name) {
		return unread("forbidden")
	}
	st, err := (&state.Store{Client: acc.kube, Namespace: d.StateNamespace}).Load(ctx, key)
	if r := forbidden(err); r != "" {
		acc.refuse("get", d.StateNamespace, name)
		return unread(r)
	}
	if err != nil {
		return []string{"the rotator's state could not be read: " + err.Error()}
	}
	var out []string
	switch {
	case st.Current == nil && st.Pending == nil && len(st.Retired) == 0:
		return []string{fmt.Sprintf("the rotator has no state for it in namespace %s%s", d.StateNamespace, where)}
	case st.Current != nil && st.Current.ID == id:
		out = append(out, "it is the rotator's current credential")
	case st.Current != nil:
		out = append(out, fmt.Sprintf("the rotator's current credential is %s (id %s): this secret was left behind by a rotation that did not reach it", st.Current.Name, st.Current.ID))
	}
	if st.Pending != nil {
		out = append(out, fmt.Sprintf("a rotation to %s (id %s) is pending", st.Pending.Name, st.Pending.ID))
	}
	for _, r := range st.Retired {
		if r.ID != id {
			continue
		}
		when := "is due to be revoked at"
		if !r.RevokeAt.After(now) {
			when = "was due to be revoked at"
		}
		out = append(out, fmt.Sprintf("the rotator retired it at %s; it %s %s", r.RetiredAt.UTC().Format(time.RFC3339), when, r.RevokeAt.UTC().Format(time.RFC3339)))
	}
	if st.Current != nil && st.Current.ID != id && !st.Known(id) {
		out = append(out, "the rotator's state does not know this credential any more")
	}
	return out
}

// AdminChecker is a provider that can tell whether its admin identity can still manage
// credentials (gitlab.Provider: an expired, revoked, read-only or bot admin token). The doctor
// asks it when a managed credential is refused: a broken admin identity is why the rotator could
// not replace it.
type AdminChecker interface {
	CheckAdmin(ctx context.Context) error
}

// providerFacts asks the provider whether the credential still exists under the name the secret
// holds, is enabled and unexpired, and whether the provider's admin identity still works; for a
// permission refusal, whether the image's project is among the credential's projects. Only with
// Probe: it contacts the provider.
func (d *Doctor) providerFacts(ctx context.Context, cred, id, held, image string, denied bool, now time.Time) []string {
	mc, ok := d.Credentials[cred]
	if !ok || !d.Probe || mc.Provider == nil {
		return nil
	}
	var out []string
	if ac, ok := mc.Provider.(AdminChecker); ok {
		if err := ac.CheckAdmin(ctx); err != nil {
			out = append(out, "the rotator's admin identity cannot replace it: "+err.Error())
		}
	}
	owned, err := mc.Provider.List(ctx, mc.Spec)
	switch {
	case err != nil:
		out = append(out, "the provider could not be asked: "+err.Error())
	case id == "":
		out = append(out, "the secret names no credential id to look up at the provider")
	default:
		var found *providers.Owned
		for i := range owned {
			if owned[i].ID == id {
				found = &owned[i]
			}
		}
		switch {
		case found == nil:
			out = append(out, fmt.Sprintf("the provider has no credential with id %s any more: it was deleted", id))
		case found.Disabled:
			out = append(out, fmt.Sprintf("the provider lists %s as disabled", found.Name))
		case !found.ExpiresAt.IsZero() && !found.ExpiresAt.After(now):
			out = append(out, fmt.Sprintf("the provider says %s expired at %s", found.Name, found.ExpiresAt.UTC().Format(time.RFC3339)))
		case held != "" && found.Name != held:
			// Harbor adds its robot_name_prefix when a robot is read: a change of that setting
			// renames every robot, and the old usernames stop logging in.
			out = append(out, fmt.Sprintf("the provider renamed it to %s (a change of Harbor's robot name prefix?): the secret's username %s no longer logs in; "+
				"the rotator's next run replaces it", found.Name, held))
		default:
			out = append(out, fmt.Sprintf("the provider still lists %s, enabled and unexpired", found.Name))
		}
	}
	if repo, ok := repository(image); ok && len(mc.Spec.Projects) > 0 && !inProjects(repo, mc.Spec.Projects) {
		out = append(out, fmt.Sprintf("the credential may pull from %s only; repository %s is in none of them: add its project to the credential's projects",
			strings.Join(mc.Spec.Projects, ", "), repo))
	} else if denied && ok {
		out = append(out, fmt.Sprintf("repository %s is in the credential's projects: check the project's pull permission for the credential", repo))
	}
	return out
}

// repository is the image's repository path, e.g. "proj-a/app".
func repository(image string) (string, bool) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", false
	}
	return ref.Context().RepositoryStr(), true
}

// inProjects reports whether repo lies in one of the projects (a Harbor project, a GitLab
// group or project path).
func inProjects(repo string, projects []string) bool {
	for _, p := range projects {
		if repo == p || strings.HasPrefix(repo, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown credential"
	}
	return s
}
