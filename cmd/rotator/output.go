package main

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// checkOutput validates an -o value: text for people, json or yaml for scripts.
func checkOutput(format string) error {
	switch format {
	case "text", "json", "yaml":
		return nil
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("--output must be text, json or yaml, not %q", format)}
}

// structured reports whether format is one for scripts (json, yaml).
func structured(format string) bool { return format == "json" || format == "yaml" }

// printStructured writes v as indented JSON or as YAML (the same document: YAML is made from the
// JSON, so field names and omissions are the same in both).
func printStructured(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
