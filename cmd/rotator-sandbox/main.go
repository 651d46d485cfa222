// Command rotator-sandbox starts and stops the local sandbox (a real Kubernetes control plane,
// a real registry behind a Harbor double, a node simulator) for `make demo` and for people
// trying rotator. It is tooling, not part of the rotator binary.
//
//	rotator-sandbox up   [--dir .sandbox]   start in the background (reuses a running one)
//	rotator-sandbox down [--dir .sandbox]   stop every process and remove the directory
//	rotator-sandbox serve --dir DIR         run in the foreground (what up starts)
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rotator-sandbox up|down|serve [--dir .sandbox]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".sandbox", "sandbox directory")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "up":
		err = up(*dir)
	case "down":
		err = down(*dir)
	case "serve":
		err = serve(*dir)
	default:
		err = fmt.Errorf("unknown command %q: use up, down or serve", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotator-sandbox:", err)
		os.Exit(1)
	}
}
