package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/rotatorhq/rotator/internal/version"
)

func TestVersionCommand(t *testing.T) {
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := newRootCommand()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"version"}, args...))
		err := cmd.Execute()
		return out.String(), err
	}
	want := version.Get()
	text, err := run()
	if err != nil || !strings.HasPrefix(text, "rotator "+want.Version+" (revision ") {
		t.Fatalf("text: %q %v", text, err)
	}
	js, err := run("-o", "json")
	var got version.Info
	if err != nil || json.Unmarshal([]byte(js), &got) != nil || got != want {
		t.Fatalf("json: %q %v, want %+v", js, err, want)
	}
	ym, err := run("-o", "yaml")
	var fromYAML version.Info
	if err != nil || yaml.Unmarshal([]byte(ym), &fromYAML) != nil || fromYAML != want {
		t.Fatalf("yaml: %q %v, want %+v", ym, err, want)
	}
	_, err = run("-o", "xml")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Fatalf("-o xml: want a usage error (exit 2), got %v", err)
	}
}
