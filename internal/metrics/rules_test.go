package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/rotatorhq/rotator/internal/version"
)

// describing is a Registerer that records the names of what is registered on it.
type describing struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d describing) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return nil
}

func (d describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d describing) Unregister(prometheus.Collector) bool { return false }

// Every metric the shipped alerts use is one the rotator exports: a renamed metric would leave an
// alert that never fires.
func TestShippedAlertsUseExportedMetrics(t *testing.T) {
	d := describing{names: map[string]bool{}}
	New(d)
	NewController(d)
	NewWindows(d)
	NewFleet(d)
	RegisterBuildInfo(d, version.Get())
	b, err := os.ReadFile("../../deploy/monitoring/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`rotator_[a-z_]+`)
	alerts := 0
	for _, g := range doc.Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			for _, name := range used.FindAllString(r.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !d.names[name] && !d.names[base] {
					t.Errorf("alert %s uses %s, which the rotator does not export", r.Alert, name)
				}
			}
		}
	}
	if alerts != 6 {
		t.Errorf("%d alerts, want the 4 of issue 19 (expiry unrotated, failing, target not current, no leader) and the fleet's 2 (member unreachable, member without a leader)", alerts)
	}
}
