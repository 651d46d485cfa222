package harbor

import "testing"

// A credential's prefix may be the start of another credential's prefix ("rotator-a-" and
// "rotator-a-b-"): ownership requires the generated suffix right after the prefix.
func TestOwnsRequiresTheGeneratedSuffixAfterThePrefix(t *testing.T) {
	p := &Provider{}
	cases := map[*robotModel]bool{
		{Level: levelSystem, Name: "robot$rotator-a-20261124t101500-ab12"}:       true,
		projectRobotModel("robot$proj+rotator-a-20261124t101500-ab12", "proj"):   true,
		{Level: levelSystem, Name: "robot$rotator-a-b-20261124t101500-ab12"}:     false, // credential "a-b"
		{Level: levelSystem, Name: "robot$rotator-a-manual"}:                     false,
		projectRobotModel("robot$other+rotator-a-20261124t101500-ab12", "other"): false, // project not in the spec
	}
	for r, want := range cases {
		if _, got := p.ownedGiven("rotator-a-", []string{"proj"}, r); got != want {
			t.Errorf("ownedGiven(%q) = %v, want %v", r.Name, got, want)
		}
	}
}
