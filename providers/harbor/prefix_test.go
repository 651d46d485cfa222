package harbor

import (
	"context"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
)

// Harbor's robot_name_prefix is a setting the rotator is never told: with any prefix a create
// works (the answer's name is the truth), and a later change of the prefix renames every robot,
// which List reports under the new name (so the core sees its current credential renamed) while
// the robots stay the rotator's, to be revoked by id.
func TestAnyRobotPrefix(t *testing.T) {
	for _, prefix := range []string{"robot-", "robot$", "bot.", "x"} {
		t.Run(prefix, func(t *testing.T) {
			rig := newDoubleRig(t, func(o *harbordouble.Options) { o.RobotPrefix = prefix })
			p := rig.provider(t, "", "")
			ctx := context.Background()
			one, several := testSpec("team-a"), testSpec("team-a", "team-b")
			pc, err := p.Issue(ctx, one)
			if err != nil {
				t.Fatalf("Issue (project robot) with prefix %q: %v", prefix, err)
			}
			sc, err := p.Issue(ctx, several)
			if err != nil {
				t.Fatalf("Issue (system robot) with prefix %q: %v", prefix, err)
			}
			if !strings.HasPrefix(pc.Name, prefix+"team-a+rotator-harbor-main-") || pc.Username != pc.Name ||
				sc.Name != prefix+sc.GivenName {
				t.Fatalf("names %q, %q (given %q)", pc.Name, sc.Name, sc.GivenName)
			}
			if len(rig.double.Robots()) != 2 {
				t.Fatalf("robots after two issues: %+v (a create was undone?)", rig.double.Robots())
			}

			rig.double.SetRobotPrefix("renamed_")
			for spec, c := range map[string]struct {
				id, given string
			}{"one": {pc.ID, pc.GivenName}, "several": {sc.ID, sc.GivenName}} {
				s := one
				if spec == "several" {
					s = several
				}
				owned, err := p.List(ctx, s)
				if err != nil {
					t.Fatalf("List %s after the prefix change: %v", spec, err)
				}
				if len(owned) != 1 || owned[0].ID != c.id || owned[0].GivenName != c.given ||
					!strings.HasPrefix(owned[0].Name, "renamed_") {
					t.Fatalf("List %s after the prefix change = %+v, want robot %s renamed with given name %q", spec, owned, c.id, c.given)
				}
				if err := p.Revoke(ctx, s, c.id); err != nil {
					t.Fatalf("Revoke %s after the prefix change: %v", spec, err)
				}
			}
			if left := rig.double.Robots(); len(left) != 0 {
				t.Fatalf("robots left: %+v", left)
			}
		})
	}
}

// Names are split without knowing the prefix; a robot of another credential whose given name
// merely contains this spec's prefix is not ours once the provider knows the Harbor's prefix.
func TestOwnedGiven(t *testing.T) {
	p := &Provider{}
	p.learnPrefix("robot$")
	sys := func(name string) *robotModel { return &robotModel{Level: levelSystem, Name: name} }
	proj := func(name, ns string) *robotModel { return projectRobotModel(name, ns) }
	const gen = "20261124t101500-0a1b"
	tests := []struct {
		r     *robotModel
		given string
		ok    bool
	}{
		{proj("robot$proj+rotator-a-"+gen, "proj"), "rotator-a-" + gen, true},
		{proj("robot-proj+rotator-a-"+gen+"-0123abcd", "proj"), "rotator-a-" + gen + "-0123abcd", true},
		{proj("robot$other+rotator-a-"+gen, "other"), "", false},                      // not the spec's project
		{proj("robot$proj+rotator-a-b-"+gen, "proj"), "", false},                      // another credential's prefix
		{proj("robot$proj+rotator-a-20261124", "proj"), "", false},                    // not a generated suffix
		{sys("robot$rotator-a-" + gen), "rotator-a-" + gen, true},                     // known prefix
		{sys("bot.rotator-a-" + gen), "rotator-a-" + gen, true},                       // a prefix changed since
		{sys("robot$x-rotator-a-" + gen), "", false},                                  // the known prefix settles it
		{&robotModel{Level: levelProject, Name: "robot$rotator-a-" + gen}, "", false}, // no permission
		{&robotModel{Level: "", Name: "robot$rotator-a-" + gen}, "", false},
	}
	for _, tt := range tests {
		given, ok := p.ownedGiven("rotator-a-", []string{"proj"}, tt.r)
		if given != tt.given || ok != tt.ok {
			t.Errorf("ownedGiven(%s %q) = %q, %v; want %q, %v", tt.r.Level, tt.r.Name, given, ok, tt.given, tt.ok)
		}
	}
}

// Before Harbor 2.13, q=Level=system also lists project robots (goharbor/harbor#21118): List of
// a several-project spec must not take the project robot of the same prefix for its own.
func TestListFiltersLevelBefore213(t *testing.T) {
	for _, version := range []string{"v2.11.0", "v2.13.5"} {
		t.Run(version, func(t *testing.T) {
			rig := newDoubleRig(t, func(o *harbordouble.Options) { o.Version = version })
			p := rig.provider(t, "", "")
			ctx := context.Background()
			one, several := testSpec("team-a"), testSpec("team-a", "team-b")
			pc, err := p.Issue(ctx, one)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := p.Issue(ctx, several)
			if err != nil {
				t.Fatal(err)
			}
			owned, err := p.List(ctx, several)
			if err != nil {
				t.Fatal(err)
			}
			if len(owned) != 1 || owned[0].ID != sc.ID {
				t.Fatalf("List(several) = %+v, want only the system robot %s (not the project robot %s)", owned, sc.ID, pc.ID)
			}
		})
	}
}
