//go:build integration

package e2e

// Harbor as users really run it (issue 14): a robot name prefix other than the default, a change
// of that prefix under running workloads, a project whose pull policy refuses unsigned images,
// and a public project where a wrong password still gets a token.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/internal/verify"
)

// withRobotPrefix sets the Harbor double's robot_name_prefix for the test, as an admin would in
// Harbor's configuration, and puts the default back afterwards.
func withRobotPrefix(t *testing.T, prefix string) {
	t.Helper()
	rig.Harbor.SetRobotPrefix(prefix)
	t.Cleanup(func() { rig.Harbor.SetRobotPrefix(harbordouble.DefaultRobotPrefix) })
}

// With Harbor's prefix set to "robot-", a full rotation succeeds and the workloads pull with the
// robot Harbor named; when an admin then changes the prefix (every robot is renamed, and its old
// username stops logging in), the next `--if-due` run notices and re-issues.
func TestHarborRobotPrefix(t *testing.T) {
	withRobotPrefix(t, "robot-")
	cred := "prefix"
	nss := namespaces(t, cred, 2)
	webDeployments(t, nss)
	cfg := wedgeConfig(t, cred, stateNS, nss, "1h")

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	rep := onlyReport(t, res)
	if res.Code != 0 || rep.Issued == nil {
		t.Fatalf("rotation with Harbor's robot prefix \"robot-\" failed (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
	}
	first, firstID := rep.Issued.Name, rep.Issued.ID
	if !strings.HasPrefix(first, "robot-proj-a+rotator-"+cred+"-") {
		t.Fatalf("issued %q: want the name Harbor gave it, robot-proj-a+rotator-%s-…", first, cred)
	}
	assertNamespacesPull(t, cred, nss, first)

	// The admin changes the prefix: the robot is renamed, its old username no longer logs in.
	rig.Harbor.SetRobotPrefix("bot.")
	u, p := secretCredential(t, nss[0], "harbor-pull")
	mustNotPull(t, rig.Images["proj-a"], u, p, "the prefix changed")

	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	rep = onlyReport(t, res)
	if rep.Issued == nil {
		t.Fatalf("`--if-due` after a prefix change issued nothing (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
	}
	if res.Code != 0 {
		t.Fatalf("re-issuing after a prefix change must succeed (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
	}
	if !strings.HasPrefix(rep.Issued.Name, "bot.proj-a+rotator-"+cred+"-") {
		t.Fatalf("re-issued %q: want Harbor's new name bot.proj-a+rotator-%s-…", rep.Issued.Name, cred)
	}
	if !abandoned(rep, strings.TrimPrefix(first, "robot-")) {
		t.Errorf("the renamed robot is not reported abandoned: %s", reportSummary(rep))
	}
	assertNamespacesPull(t, cred, nss, rep.Issued.Name)
	for _, r := range rig.Harbor.Robots() {
		if strconv.FormatInt(r.ID, 10) == firstID {
			t.Errorf("the renamed robot %s (id %s) was left at Harbor once no namespace held it", r.Name, firstID)
		}
	}
}

// abandoned reports whether rep abandoned a credential whose name ends with suffix (its name
// without Harbor's prefix, which the rename changed).
func abandoned(rep *rotation.Report, suffix string) bool {
	for _, c := range rep.Abandoned {
		if strings.HasSuffix(c.Name, suffix) {
			return true
		}
	}
	return false
}

// A project that requires signed images answers 412 PROJECTPOLICYVIOLATION to the manifest
// request after authorising the pull: the credential is proven, the rotation succeeds and its
// report says why the image itself was refused.
func TestHarborSignaturePolicyRotates(t *testing.T) {
	if err := rig.Harbor.SetProjectPolicy("proj-b", harbordouble.Policy{SignatureRequired: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rig.Harbor.SetProjectPolicy("proj-b", harbordouble.Policy{}) })
	cred := "signed"
	nss := namespaces(t, cred, 1)
	cfg := rotatorConfig(t, cfgOpts{name: cred, namespaces: nss, projects: []string{"proj-b"}, verifyImages: []string{rig.Images["proj-b"]}})
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	rep := onlyReport(t, res)
	if res.Code != 0 || rep.Issued == nil {
		t.Fatalf("a credential of a project with a signature policy must rotate (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "PROJECTPOLICYVIOLATION") {
		t.Errorf("the report must say the image was refused by the project's policy: %s", reportSummary(rep))
	}
	if u, _ := secretCredential(t, nss[0], "harbor-pull"); u != rep.Issued.Name {
		t.Errorf("namespace %s holds %s, want %s", nss[0], u, rep.Issued.Name)
	}
}

// On a public project a wrong password falls back to anonymous at Harbor's token service, which
// answers 200, and the anonymous pull works: verification must still fail for that credential,
// while the robot's own password and an anonymous check pass.
func TestHarborPublicProjectWrongPasswordFailsVerification(t *testing.T) {
	if err := rig.Harbor.SetProjectPublic("proj-b", true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rig.Harbor.SetProjectPublic("proj-b", false) })
	img := rig.Images["proj-b"]
	ctx := context.Background()
	var c verify.Checker
	if err := c.PullCheck(ctx, img, nil); err != nil {
		t.Fatalf("premise: an anonymous pull of the public project must work: %v", err)
	}
	// A robot of the project, to compare against.
	cred := "public"
	nss := namespaces(t, cred, 1)
	cfg := rotatorConfig(t, cfgOpts{name: cred, namespaces: nss, projects: []string{"proj-b"}, verifyImages: []string{img}})
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json"); res.Code != 0 {
		t.Fatalf("rotation failed (exit %d): %s\n%s", res.Code, reportSummary(onlyReport(t, res)), res.Stderr)
	}
	u, p := secretCredential(t, nss[0], "harbor-pull")
	if err := c.PullCheck(ctx, img, authn.FromConfig(authn.AuthConfig{Username: u, Password: p})); err != nil {
		t.Fatalf("the robot's own password must verify: %v", err)
	}
	err := c.PullCheck(ctx, img, authn.FromConfig(authn.AuthConfig{Username: u, Password: p + "x"}))
	var pe *verify.PullError
	if !errors.As(err, &pe) || !verify.CredentialRefused(err) {
		t.Fatalf("a wrong password on a public project passed verification (err %v)", err)
	}
}
