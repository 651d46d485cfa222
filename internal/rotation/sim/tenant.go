package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/secretsync"
	"github.com/rotatorhq/rotator/internal/state"
)

// tenantStep: a tenant of one cluster changes something between two runs.
func (w *World) tenantStep() {
	c := w.clusters[w.sched.IntN(len(w.clusters))]
	var msg string
	switch x := w.sched.Float64(); {
	case x < 0.16:
		msg = c.tenantDeleteSecret()
	case x < 0.28:
		msg = c.tenantEditSecret()
	case x < 0.38:
		msg = c.tenantStripLabels()
	case x < 0.48:
		msg = c.tenantMakeImmutable()
	case x < 0.58:
		msg = c.tenantDeleteNamespace()
	case x < 0.68:
		msg = c.tenantDeleteServiceAccount()
	case x < 0.84:
		msg = c.tenantAddNamespace()
	case x < 0.92:
		msg = c.tenantStaleImage()
	default:
		msg = c.tenantUnlabelNamespace()
	}
	if msg == "" {
		msg = "nothing to do"
	}
	w.logf("tenant of cluster %s: %s", c.Name, msg)
}

// managedSecrets are the Secrets of the cluster marked as managed by the rotator (not its state).
func (c *Cluster) managedSecrets() []corev1.Secret {
	var out []corev1.Secret
	for _, s := range c.secrets() {
		if s.Namespace != stateNamespace && s.Labels[secretsync.LabelManagedBy] == secretsync.ManagedByValue {
			out = append(out, s)
		}
	}
	return out
}

func (c *Cluster) pickManaged() *corev1.Secret {
	ms := c.managedSecrets()
	if len(ms) == 0 {
		return nil
	}
	return &ms[c.w.sched.IntN(len(ms))]
}

// tenantNamespaces are the namespaces tenants own (all but the rotator's).
func (c *Cluster) tenantNamespaces() []corev1.Namespace {
	var out []corev1.Namespace
	for _, ns := range c.namespaceList() {
		if ns.Name != stateNamespace {
			out = append(out, ns)
		}
	}
	return out
}

func (c *Cluster) tenantDeleteSecret() string {
	s := c.pickManaged()
	if s == nil {
		return ""
	}
	if err := c.cs.CoreV1().Secrets(s.Namespace).Delete(bg, s.Name, metav1.DeleteOptions{}); err != nil {
		return "delete secret failed: " + err.Error()
	}
	return "deleted secret " + s.Namespace + "/" + s.Name
}

// tenantEditSecret replaces the password in a managed secret (labels and annotations stay).
func (c *Cluster) tenantEditSecret() string {
	s := c.pickManaged()
	if s == nil {
		return ""
	}
	cfg, _ := pullsecret.ParseSecret(s)
	user := "someone"
	for _, e := range cfg.Auths {
		user = e.Username
	}
	data, _ := pullsecret.Build(registryHost, user, "typo")
	s.Data = map[string][]byte{corev1.DockerConfigJsonKey: data}
	if _, err := c.cs.CoreV1().Secrets(s.Namespace).Update(bg, s, metav1.UpdateOptions{}); err != nil {
		return "edit of " + s.Namespace + "/" + s.Name + " refused: " + firstLine(err.Error())
	}
	return "put a wrong password into secret " + s.Namespace + "/" + s.Name
}

func (c *Cluster) tenantStripLabels() string {
	s := c.pickManaged()
	if s == nil {
		return ""
	}
	delete(s.Labels, secretsync.LabelManagedBy)
	delete(s.Labels, secretsync.LabelCredential)
	if _, err := c.cs.CoreV1().Secrets(s.Namespace).Update(bg, s, metav1.UpdateOptions{}); err != nil {
		return "strip labels refused: " + err.Error()
	}
	return "stripped the rotator's labels from secret " + s.Namespace + "/" + s.Name
}

func (c *Cluster) tenantMakeImmutable() string {
	s := c.pickManaged()
	if s == nil {
		return ""
	}
	t := true
	s.Immutable = &t
	if _, err := c.cs.CoreV1().Secrets(s.Namespace).Update(bg, s, metav1.UpdateOptions{}); err != nil {
		return "make immutable refused: " + err.Error()
	}
	return "made secret " + s.Namespace + "/" + s.Name + " immutable"
}

// tenantDeleteNamespace deletes a tenant namespace and everything in it, keeping at least one.
func (c *Cluster) tenantDeleteNamespace() string {
	nss := c.tenantNamespaces()
	if len(nss) < 2 {
		return ""
	}
	ns := nss[c.w.sched.IntN(len(nss))].Name
	c.deleteNamespace(ns)
	return "deleted namespace " + ns
}

// deleteNamespace removes ns and its objects at once (the fake has no namespace controller and
// no Terminating phase).
func (c *Cluster) deleteNamespace(ns string) {
	core, apps := c.cs.CoreV1(), c.cs.AppsV1()
	if l, err := core.Secrets(ns).List(bg, metav1.ListOptions{}); err == nil {
		for _, s := range l.Items {
			_ = core.Secrets(ns).Delete(bg, s.Name, metav1.DeleteOptions{})
		}
	}
	if l, err := core.ServiceAccounts(ns).List(bg, metav1.ListOptions{}); err == nil {
		for _, s := range l.Items {
			_ = core.ServiceAccounts(ns).Delete(bg, s.Name, metav1.DeleteOptions{})
		}
	}
	if l, err := apps.Deployments(ns).List(bg, metav1.ListOptions{}); err == nil {
		for _, d := range l.Items {
			_ = apps.Deployments(ns).Delete(bg, d.Name, metav1.DeleteOptions{})
		}
	}
	_ = core.Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
}

func (c *Cluster) tenantDeleteServiceAccount() string {
	nss := c.tenantNamespaces()
	if len(nss) == 0 {
		return ""
	}
	ns := nss[c.w.sched.IntN(len(nss))].Name
	if err := c.cs.CoreV1().ServiceAccounts(ns).Delete(bg, pullerSA, metav1.DeleteOptions{}); err != nil {
		return "serviceaccount " + ns + "/" + pullerSA + " already gone"
	}
	return "deleted serviceaccount " + ns + "/" + pullerSA
}

// tenantAddNamespace creates a new target namespace (at most five tenant namespaces), or brings
// back a deleted explicit one.
func (c *Cluster) tenantAddNamespace() string {
	nss := c.tenantNamespaces()
	if len(nss) >= 5 {
		return ""
	}
	for _, ns := range explicitNamespaces {
		if !c.namespaceExists(ns) && c.w.sched.IntN(2) == 0 {
			c.addNamespace(ns, false)
			return "created namespace " + ns + " again (listed in the config)"
		}
	}
	c.nsSeq++
	ns := fmt.Sprintf("new-%d", c.nsSeq)
	c.addNamespace(ns, true)
	return "created namespace " + ns + " (matches the selector)"
}

// tenantStaleImage points a dependent workload at a tag the registry does not have (404): not a
// credential problem, and it must not be taken for one.
func (c *Cluster) tenantStaleImage() string {
	nss := c.tenantNamespaces()
	if len(nss) == 0 {
		return ""
	}
	ns := nss[c.w.sched.IntN(len(nss))].Name
	name := []string{"web", "cli"}[c.w.sched.IntN(2)]
	d, err := c.cs.AppsV1().Deployments(ns).Get(bg, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	img := d.Spec.Template.Spec.Containers[0].Image
	d.Spec.Template.Spec.Containers[0].Image = strings.TrimSuffix(img, ":1") + ":0-deleted"
	if _, err := c.cs.AppsV1().Deployments(ns).Update(bg, d, metav1.UpdateOptions{}); err != nil {
		return "image edit failed: " + err.Error()
	}
	return "deployment " + ns + "/" + name + " now uses a deleted tag (" + d.Spec.Template.Spec.Containers[0].Image + ")"
}

// tenantUnlabelNamespace takes a selector-matched namespace out of the targets.
func (c *Cluster) tenantUnlabelNamespace() string {
	var cands []corev1.Namespace
	for _, ns := range c.tenantNamespaces() {
		if ns.Labels[selectorLabel] == "yes" && !slices.Contains(explicitNamespaces, ns.Name) {
			cands = append(cands, ns)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	ns := cands[c.w.sched.IntN(len(cands))]
	delete(ns.Labels, selectorLabel)
	if _, err := c.cs.CoreV1().Namespaces().Update(bg, &ns, metav1.UpdateOptions{}); err != nil {
		return "unlabel failed: " + err.Error()
	}
	return "namespace " + ns.Name + " no longer matches the selector (leaves the targets)"
}

// faultStep: something goes wrong outside the rotator's control.
func (w *World) faultStep() {
	var msg string
	switch x := w.sched.Float64(); {
	case x < 0.25:
		w.faults.providerRate = 0.2 + 0.4*w.sched.Float64()
		w.faults.providerRuns = 1 + w.sched.IntN(3)
		msg = fmt.Sprintf("provider flaky (5xx, timeouts, timed out but done) at rate %.2f for %d runs", w.faults.providerRate, w.faults.providerRuns)
	case x < 0.35:
		w.faults.registryRate = 0.3 + 0.4*w.sched.Float64()
		w.faults.registryRuns = 1 + w.sched.IntN(2)
		msg = fmt.Sprintf("registry flaky (timeouts) at rate %.2f for %d runs", w.faults.registryRate, w.faults.registryRuns)
	case x < 0.55:
		msg = w.robotFate("deleted", func(b *Robot) { b.Deleted = true })
	case x < 0.68:
		msg = w.robotFate("disabled", func(b *Robot) { b.Disabled = true })
	case x < 0.81:
		msg = w.robotFate("expired", func(b *Robot) { b.ExpiresAt = w.clock.Now().Add(-time.Second) })
	case x < 0.91:
		// Harbor's robot name prefix setting changed: the robot's full name (its login) changes.
		msg = w.robotFate("renamed", func(b *Robot) { b.Name = strings.Replace(b.Name, "robot$", "bot$", 1) })
	case x < 0.96:
		c := w.clusters[w.sched.IntN(len(w.clusters))]
		c.partition.runs, c.partition.from = 1+w.sched.IntN(3), w.sched.IntN(w.callEstimate(runOp{creds: []string{"main", "extra"}})+1)
		msg = fmt.Sprintf("cluster %s partitioned from the rotator for its next %d runs, from call %d of the first (its state and lock stay reachable, as in a fleet)", c.Name, c.partition.runs, c.partition.from)
	default:
		c := w.clusters[w.sched.IntN(len(w.clusters))]
		cred := credSpecs[w.sched.IntN(len(credSpecs))].name
		if err := c.cs.CoreV1().Secrets(stateNamespace).Delete(bg, state.SecretName(cred), metav1.DeleteOptions{}); err != nil {
			msg = "admin deletes the state of " + cred + " in cluster " + c.Name + ": there is none"
		} else {
			msg = "admin deleted the state Secret of " + cred + " in cluster " + c.Name
		}
	}
	w.logf("fault: %s", msg)
}

// robotFate does fate to a live robot chosen at random, behind the rotator's back.
func (w *World) robotFate(fate string, do func(*Robot)) string {
	live := w.provider.liveRobots()
	if len(live) == 0 {
		return "no live robot to be " + fate
	}
	b := live[w.sched.IntN(len(live))]
	do(b)
	b.Fate = fate
	return b.String()
}
