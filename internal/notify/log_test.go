package notify

import (
	"log/slog"
)

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func newTextLogger(w writerFunc) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
