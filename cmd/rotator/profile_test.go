package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProfilesWrittenOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	startProfiles(dir)()
	for _, name := range []string{"cpu.pprof", "block.pprof", "heap-peak.pprof"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (want a profile)", name, err)
		}
	}
	startProfiles("")() // nothing to write, nothing written
}
