package harbor

import "testing"

// A credential's prefix may be the start of another credential's prefix ("rotator-a-" and
// "rotator-a-b-"): ownership requires the generated suffix right after the prefix.
func TestOwnsRequiresTheGeneratedSuffixAfterThePrefix(t *testing.T) {
	p := &Provider{robotPrefix: DefaultRobotPrefix}
	cases := map[string]bool{
		"robot$rotator-a-20261124t101500-ab12":       true,
		"robot$proj+rotator-a-20261124t101500-ab12":  true,
		"robot$rotator-a-b-20261124t101500-ab12":     false, // credential "a-b"
		"robot$rotator-a-manual":                     false,
		"robot$other+rotator-a-20261124t101500-ab12": false, // project not in the spec
	}
	for name, want := range cases {
		if got := p.owns("rotator-a-", []string{"proj"}, name); got != want {
			t.Errorf("owns(%q) = %v, want %v", name, got, want)
		}
	}
}
