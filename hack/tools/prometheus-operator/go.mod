// Module pinning the Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule) for the test
// that applies the chart's and deploy/monitoring's objects to the sandbox's API server
// (test/e2e/monitoring_test.go). Not built: the test reads the CRD files out of the module,
// fetched by `go mod download` into the module cache and checked against go.sum. v0.94.0 is
// the newest root-module release the Go module proxy serves (v0.95.x answers 403 there).
module rotator.dev/hack/tools/prometheus-operator

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.94.0
