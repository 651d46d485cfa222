package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// record is everything RESULTS.md is rendered from. It is saved as JSON beside RESULTS.md, so
// the raw numbers are kept and the file can be rendered again (-render) without a new run.
type record struct {
	Args                          []string
	N, RunbookN, Rounds, Replicas int
	RSSN                          int
	ProbeQPS                      float64
	Machine                       machine
	Started                       time.Time
	Took                          time.Duration
	Defaults                      config.Kubernetes
	Runs, Noop, Scale, Probe      []measurement
}

func (b *bench) record() record {
	o := b.opts
	return record{
		Args: os.Args[1:], N: o.n, RunbookN: o.runbookN, Rounds: o.rounds, Replicas: o.replicas, RSSN: o.rssN,
		ProbeQPS: o.probeQPS, Machine: b.machine, Started: b.started, Took: time.Since(b.started),
		Defaults: b.defaults, Runs: b.runs, Noop: b.noop, Scale: b.scale, Probe: b.probe,
	}
}

// save writes RESULTS.md and, beside it, its record as JSON (RESULTS.json).
func save(rec record, mdPath string) error {
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath(mdPath), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(mdPath, []byte(render(rec)), 0o644)
}

// rerender renders mdPath again from the record saved beside it.
func rerender(mdPath string) error {
	js, err := os.ReadFile(jsonPath(mdPath))
	if err != nil {
		return fmt.Errorf("no saved record to render from: %w", err)
	}
	var rec record
	if err := json.Unmarshal(js, &rec); err != nil {
		return fmt.Errorf("%s: %w", jsonPath(mdPath), err)
	}
	return os.WriteFile(mdPath, []byte(render(rec)), 0o644)
}

func jsonPath(mdPath string) string {
	if len(mdPath) > 3 && mdPath[len(mdPath)-3:] == ".md" {
		return mdPath[:len(mdPath)-3] + ".json"
	}
	return mdPath + ".json"
}
