// Command promrules checks Prometheus rule files as Prometheus loads them (model/rulefmt: every
// expr parsed as PromQL, every label and annotation template parsed), for the rotator's shipped
// alerts. Each argument is a YAML file holding either a plain rules file (groups:) or
// PrometheusRule objects (their spec is one); a multi-document file is read document by document.
// Built by hack/build-tools.sh into the tools cache; the tests run it (test/e2e/monitoring_test.go).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promrules FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		n, err := check(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %d rules OK\n", file, n)
	}
	if failed {
		os.Exit(1)
	}
}

// check parses every rule group of file; it returns the number of rules.
func check(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	rules := 0
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return rules, err
		}
		if doc == nil {
			continue
		}
		if kind, _ := doc["kind"].(string); kind != "" {
			if kind != "PrometheusRule" {
				continue
			}
			doc, _ = doc["spec"].(map[string]any)
		}
		out, err := yaml.Marshal(doc)
		if err != nil {
			return rules, err
		}
		// Strict, as Prometheus loads a file: unknown fields refused, legacy metric names.
		groups, errs := rulefmt.Parse(out, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			return rules, errors.Join(errs...)
		}
		if len(groups.Groups) == 0 {
			return rules, errors.New("no rule group")
		}
		for _, g := range groups.Groups {
			rules += len(g.Rules)
		}
	}
	if rules == 0 {
		return 0, errors.New("no rule")
	}
	return rules, nil
}
