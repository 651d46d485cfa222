package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotatorhq/rotator/internal/config"
)

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the configuration file", Example: "  rotator config validate --config config.yaml"}
	var path string
	validate := &cobra.Command{
		Use:     "validate --config FILE",
		Example: `  rotator config validate --config config.yaml`,
		Short:   "Report every problem of a config file at once, each with its path",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(path)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			for i := range c.Credentials {
				if host, normalised, err := c.Credentials[i].Registry(); err == nil && normalised {
					fmt.Fprintf(cmd.OutOrStdout(), "note: credentials[%d].registryHost %q is written as %q\n", i, c.Credentials[i].RegistryHost, host)
				}
			}
			for _, w := range config.Warnings(c) {
				fmt.Fprintf(cmd.OutOrStdout(), "warning: %s\n", w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid, %d credential(s)\n", path, len(c.Credentials))
			return nil
		},
	}
	validate.Flags().StringVar(&path, "config", "", "config file (required)")
	_ = validate.MarkFlagRequired("config")
	cmd.AddCommand(validate)
	return cmd
}
