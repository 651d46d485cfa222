package main

import (
	"bytes"
	"strings"
	"testing"
)

// `rotator completion SHELL` writes rotator's completion script for each shell, to the
// command's output.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o default -F __start_rotator rotator", "zsh": "#compdef rotator",
		"fish": "complete -c rotator", "powershell": "Register-ArgumentCompleter -CommandName 'rotator'",
	} {
		var out bytes.Buffer
		cmd := newRootCommand()
		cmd.SetOut(&out)
		cmd.SetArgs([]string{"completion", shell})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: the script lacks %q:\n%.400s", shell, want, out.String())
		}
	}
	cmd := newRootCommand()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"completion", "tcsh"})
	if err := cmd.Execute(); err == nil {
		t.Error("completion tcsh: no error")
	}
}
