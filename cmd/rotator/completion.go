package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// newCompletionCommand is `rotator completion SHELL`: cobra's scripts, in a command of our own
// rather than cobra's default one, which binds its output when it is built (so a test's SetOut
// would not reach it) and carries no example.
func newCompletionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script of rotator",
		Example: `  source <(rotator completion bash)        # this shell; add the line to ~/.bashrc to keep it
  rotator completion zsh > "${fpath[1]}/_rotator"
  rotator completion fish > ~/.config/fish/completions/rotator.fish
  rotator completion powershell | Out-String | Invoke-Expression`,
		Args:              cobra.NoArgs, // an unknown shell is an error, not the help
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("name the shell: rotator completion bash|zsh|fish|powershell")}
		},
	}
	for _, sh := range []struct {
		name string
		gen  func(root *cobra.Command, w io.Writer) error
	}{
		{"bash", func(r *cobra.Command, w io.Writer) error { return r.GenBashCompletionV2(w, true) }},
		{"zsh", func(r *cobra.Command, w io.Writer) error { return r.GenZshCompletion(w) }},
		{"fish", func(r *cobra.Command, w io.Writer) error { return r.GenFishCompletion(w, true) }},
		{"powershell", func(r *cobra.Command, w io.Writer) error { return r.GenPowerShellCompletionWithDesc(w) }},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:               sh.name,
			Short:             "Print the " + sh.name + " completion script",
			Example:           "  rotator completion " + sh.name,
			Args:              cobra.NoArgs,
			ValidArgsFunction: cobra.NoFileCompletions,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return sh.gen(cmd.Root(), cmd.OutOrStdout())
			},
		})
	}
	return cmd
}
