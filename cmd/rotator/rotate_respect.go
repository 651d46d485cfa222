package main

import (
	"fmt"
	"io"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// windowSkip is a credential `rotate now --respect-windows` left alone: outside every window.
type windowSkip struct {
	Credential string `json:"credential"`
	// NextWindow is when its next window opens (zero: none ever does).
	NextWindow time.Time `json:"nextWindow,omitzero"`
}

func (w windowSkip) String() string {
	next := "none opens again"
	if !w.NextWindow.IsZero() {
		next = "next at " + w.NextWindow.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s: outside every window; %s: nothing done (--respect-windows)", w.Credential, next)
}

// splitByWindows parts creds into those that may run at now (inside a window, or without
// windows) and those outside every window. Validate refuses unreadable windows; a credential
// with windows that cannot be read anyway is left alone, as the safe answer.
func splitByWindows(cfg *config.Config, creds []*config.Credential, now time.Time) ([]*config.Credential, []windowSkip) {
	var run []*config.Credential
	var skipped []windowSkip
	for _, c := range creds {
		ws, err := config.CompileWindows(cfg.WindowsOf(c))
		switch {
		case err != nil:
			skipped = append(skipped, windowSkip{Credential: c.Name})
		case ws.Open(now):
			run = append(run, c)
		default:
			skipped = append(skipped, windowSkip{Credential: c.Name, NextWindow: ws.Next(now)})
		}
	}
	return run, skipped
}

func printSkips(w io.Writer, skipped []windowSkip) {
	for _, s := range skipped {
		fmt.Fprintln(w, s)
	}
}
