// Command rotator-sandbox starts and stops the local sandbox (a real Kubernetes control plane,
// a real registry behind a Harbor double, a node simulator) for `make demo` and for people
// trying rotator. It is tooling, not part of the rotator binary.
//
//	rotator-sandbox up   [--dir .sandbox] [--clusters N]   start in the background (reuses a running one);
//	                                        N extra clusters (fleet members) in DIR/clusters/member-1..N
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
	clusters := fs.Int("clusters", 0, "up, serve: extra clusters to start beside the first (fleet members member-1..N; each its own etcd, kube-apiserver, controller manager and node simulator, about 400 MiB)")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch {
	case *clusters < 0 || *clusters > 9:
		err = fmt.Errorf("--clusters must be between 0 and 9, not %d", *clusters)
	case os.Args[1] == "up":
		err = up(*dir, *clusters)
	case os.Args[1] == "down":
		err = down(*dir)
	case os.Args[1] == "serve":
		err = serve(*dir, *clusters)
	default:
		err = fmt.Errorf("unknown command %q: use up, down or serve", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotator-sandbox:", err)
		os.Exit(1)
	}
}
