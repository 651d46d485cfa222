package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"

	"k8s.io/client-go/tools/clientcmd"
)

// The ways the fleet scenario makes a member unreachable (-fleet-down).
const (
	// downRefuse closes the gate: connections are refused at once and the open ones closed, as
	// a member whose API server is gone (or a firewall that rejects).
	downRefuse = "refuse"
	// downBlackhole keeps accepting connections and never answers, as a network partition that
	// drops packets: every request waits for the client's own timeouts.
	downBlackhole = "blackhole"
	// downFreeze cuts the member off in the middle of the run, once the rotator has written
	// its first Secret there: the open connections stay open and carry nothing more (their
	// bytes held at the gate), new ones are accepted and never answered. Without the need to
	// open a connection, only the client's request timeouts and health checks end a request.
	downFreeze = "freeze"
)

// tcpGate forwards a loopback port to a member's API server until it is closed (refuse or
// blackhole), as a network partition between the rotator and that member; open restores it on
// the same address. The idea is test/e2e/fleet_test.go's gate.
type tcpGate struct {
	target, addr string

	mu    sync.Mutex
	l     net.Listener
	mode  string // "" (forwarding), downRefuse, downBlackhole or downFreeze
	conns []net.Conn
	// thawed is closed when a freeze ends (nil while not frozen).
	thawed chan struct{}
}

func newTCPGate(serverURL string) (*tcpGate, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &tcpGate{target: u.Host, addr: l.Addr().String()}
	g.serve(l)
	return g, nil
}

func (g *tcpGate) url() string { return "https://" + g.addr }

func (g *tcpGate) serve(l net.Listener) {
	g.mu.Lock()
	g.l = l
	g.mu.Unlock()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			g.mu.Lock()
			mode := g.mode
			g.conns = append(g.conns, in)
			g.mu.Unlock()
			if mode == downBlackhole || mode == downFreeze {
				go func() { _, _ = io.Copy(io.Discard, in) }() // read, never answer
				continue
			}
			out, err := net.Dial("tcp", g.target)
			if err != nil {
				in.Close()
				continue
			}
			g.mu.Lock()
			g.conns = append(g.conns, out)
			g.mu.Unlock()
			go func() { g.pipe(out, in); out.Close() }()
			go func() { g.pipe(in, out); in.Close() }()
		}
	}()
}

// pipe copies src to dst, holding every chunk while the gate is frozen.
func (g *tcpGate) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			g.mu.Lock()
			thawed := g.thawed
			g.mu.Unlock()
			if thawed != nil {
				<-thawed // open closes the connections too: the write below fails
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close cuts the member off in mode: with downRefuse and downBlackhole every open connection
// is closed, and new ones refused, or accepted and never answered; with downFreeze the open ones
// stay open and carry nothing more, and new ones are accepted and never answered.
func (g *tcpGate) close(mode string) error {
	if mode != downRefuse && mode != downBlackhole && mode != downFreeze {
		return fmt.Errorf("gate: mode %q: want %s, %s or %s", mode, downRefuse, downBlackhole, downFreeze)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode = mode
	if mode == downFreeze {
		if g.thawed == nil {
			g.thawed = make(chan struct{})
		}
		return nil
	}
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
	if mode == downRefuse && g.l != nil {
		g.l.Close()
		g.l = nil
	}
	return nil
}

// open forwards again, on the same address.
func (g *tcpGate) open() error {
	g.mu.Lock()
	g.mode = ""
	if g.thawed != nil {
		close(g.thawed)
		g.thawed = nil
	}
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
	listening := g.l != nil
	g.mu.Unlock()
	if listening {
		return nil
	}
	l, err := net.Listen("tcp", g.addr)
	if err != nil {
		return fmt.Errorf("reopen the gate on %s: %w", g.addr, err)
	}
	g.serve(l)
	return nil
}

// stop closes the gate for good.
func (g *tcpGate) stop() {
	g.mu.Lock()
	if g.thawed != nil {
		close(g.thawed)
		g.thawed = nil
	}
	g.mu.Unlock()
	_ = g.close(downRefuse)
}

// kubeconfigVia writes to path a copy of kubeconfig whose servers are server (the gate).
func kubeconfigVia(kubeconfig, server, path string) error {
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return err
	}
	for _, c := range kc.Clusters {
		c.Server = server
	}
	return clientcmd.WriteToFile(*kc, path)
}
