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
)

// tcpGate forwards a loopback port to a member's API server until it is closed (refuse or
// blackhole), as a network partition between the rotator and that member; open restores it on
// the same address. The idea is test/e2e/fleet_test.go's gate.
type tcpGate struct {
	target, addr string

	mu    sync.Mutex
	l     net.Listener
	mode  string // "" (forwarding), downRefuse or downBlackhole
	conns []net.Conn
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
			if mode == downBlackhole {
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
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

// close cuts the member off in mode: every open connection is closed; with downRefuse new ones
// are refused, with downBlackhole accepted and never answered.
func (g *tcpGate) close(mode string) error {
	if mode != downRefuse && mode != downBlackhole {
		return fmt.Errorf("gate: mode %q: want %s or %s", mode, downRefuse, downBlackhole)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode = mode
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
