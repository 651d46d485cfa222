// Command rotator keeps Kubernetes able to pull from private Harbor (and GitLab) registries: it
// issues pull-only robot credentials, verifies them with a real pull, writes them as
// kubernetes.io/dockerconfigjson Secrets, restarts the workloads that use them and only then
// revokes the old ones.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes scripts can rely on.
const (
	exitOK = 0
	// exitFailed: the command ran and some target is not done (named in the output).
	exitFailed = 1
	// exitUsage: bad flags or an invalid config; nothing was attempted.
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfiles := startProfiles(os.Getenv(profileDirEnv))
	err := newRootCommand().ExecuteContext(ctx)
	stopProfiles()
	os.Exit(exitCode(err))
}

// exitError carries an exit code chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil { // the command printed its report and chose the code
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	return exitUsage // cobra's own errors: unknown flag, missing argument
}
