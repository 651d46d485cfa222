package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// globalFlags are shared by every subcommand.
type globalFlags struct {
	kubeconfig string
	context    string
	verbose    bool
	logLevel   string
	logFormat  string
	// level is the resolved log level (PersistentPreRunE).
	level slog.Level
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "rotator",
		Short:         "Rotate Harbor and GitLab pull credentials into Kubernetes pull secrets, safely",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.resolveLogging(cmd.Name() == "run")
		},
	}
	root.PersistentFlags().StringVar(&g.kubeconfig, "kubeconfig", "", "path to a kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	root.PersistentFlags().StringVar(&g.context, "context", "", "the kubeconfig context to use (default: its current context)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "debug logging to stderr (the same as --log-level debug)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error (default: info for `rotator run`, whose log is the service's record; warn for one-shot commands, whose report is on stdout)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "text or json (one JSON object a line, for log collectors)")
	root.AddCommand(newRotateCommand(g), newConfigCommand(), newRunCommand(g), newStatusCommand(g, statusKube), newDoctorCommand(g), newVersionCommand(), newCompletionCommand())
	return root
}

// resolveLogging checks the logging flags and settles the level: --log-level, else -v, else
// the command's default.
func (g *globalFlags) resolveLogging(service bool) error {
	switch g.logFormat {
	case "text", "json":
	default:
		return &exitError{code: exitUsage, err: fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)}
	}
	switch {
	case g.logLevel != "":
		if err := g.level.UnmarshalText([]byte(g.logLevel)); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--log-level must be debug, info, warn or error, not %q", g.logLevel)}
		}
	case g.verbose:
		g.level = slog.LevelDebug
	case service:
		g.level = slog.LevelInfo
	default:
		g.level = slog.LevelWarn
	}
	return nil
}

// logger is the process's logger, writing to w. client-go's own lines (klog) go through it too,
// so one format reaches the log collector.
func (g *globalFlags) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: g.level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if g.logFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	l := slog.New(h)
	klog.SetSlogLogger(l)
	return l
}
