package config

import (
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Load reads, strictly decodes, defaults and validates a config file. A decoding error (bad
// YAML, unknown field) is returned alone; otherwise every validation problem is returned at once.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(b, path)
}

// Parse is Load on bytes; source names them in errors.
func Parse(b []byte, source string) (*Config, error) {
	var c Config
	// UnmarshalStrict: an unknown or duplicated field is an error, so a typo such as
	// "namespace:" for "namespaces:" cannot silently leave a target out.
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	Default(&c)
	if errs := Validate(&c); len(errs) > 0 {
		return nil, &InvalidError{Source: source, Errs: errs}
	}
	return &c, nil
}

// InvalidError lists every problem of a config file, one per line, each with its path.
type InvalidError struct {
	Source string
	Errs   field.ErrorList
}

func (e *InvalidError) Error() string {
	s := fmt.Sprintf("config %s has %d problem(s):", e.Source, len(e.Errs))
	for _, err := range e.Errs {
		s += "\n  " + err.Error()
	}
	return s
}
