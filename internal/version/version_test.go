package version

import (
	"runtime"
	"testing"
)

func TestGet(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })

	version = ""
	if got := Get(); got.Version == "" || got.GoVersion != runtime.Version() {
		t.Fatalf("without a stamp: %+v, want a version (the module's or devel) and %s", got, runtime.Version())
	}
	version = "v9.8.7"
	if got := Get(); got.Version != "v9.8.7" {
		t.Fatalf("stamped v9.8.7, Get says %q", got.Version)
	}
}
