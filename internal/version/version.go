// Package version says which build of rotator is running: the release it was stamped with, or
// what the Go toolchain recorded (module version, VCS revision) when it was not.
package version

import (
	"runtime"
	"runtime/debug"
)

// version is set at release builds:
//
//	go build -ldflags "-X github.com/rotatorhq/rotator/internal/version.version=v0.3.0" ./cmd/rotator
//
// Left empty, Get falls back to the build information Go embeds.
var version string

// Info describes the running binary.
type Info struct {
	// Version is the release ("v0.3.0"), the module's pseudo-version, or "devel".
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from, "" when unknown; Modified says the
	// work tree had uncommitted changes.
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// GoVersion is the toolchain that built it.
	GoVersion string `json:"goVersion"`
}

// Get returns the running binary's Info.
func Get() Info {
	info := Info{Version: version, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	if info.Version == "" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" || info.Version == "(devel)" {
		info.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}
