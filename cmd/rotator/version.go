package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotatorhq/rotator/internal/version"
)

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this rotator build",
		Example: `  rotator version
  rotator version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			out := cmd.OutOrStdout()
			switch output {
			case "json", "yaml":
				return printStructured(out, output, info)
			case "text":
				rev := info.Revision
				if rev == "" {
					rev = "unknown"
				} else if info.Modified {
					rev += " (modified)"
				}
				_, err := fmt.Fprintf(out, "rotator %s (revision %s, %s)\n", info.Version, rev, info.GoVersion)
				return err
			}
			return checkOutput(output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	return cmd
}
