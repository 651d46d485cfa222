package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rotatorhq/rotator/internal/version"
)

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	RegisterBuildInfo(reg, version.Info{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26.8"})
	want := `
# HELP rotator_build_info Always 1; the labels name the running build of rotator.
# TYPE rotator_build_info gauge
rotator_build_info{goversion="go1.26.8",revision="abc",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rotator_build_info"); err != nil {
		t.Fatal(err)
	}
}
