package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWindowOverridesCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := NewWindows(reg)
	w.Override("h")
	w.Override("h")
	var none *Windows
	none.Override("h") // a nil *Windows records nothing and does not panic
	want := `
# HELP rotator_window_overrides_total Rotations started outside every window because the credential would otherwise expire (or use up half of renewBefore) before the next window opens.
# TYPE rotator_window_overrides_total counter
rotator_window_overrides_total{credential="h"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rotator_window_overrides_total"); err != nil {
		t.Fatal(err)
	}
}
