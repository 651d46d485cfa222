package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// serve runs the rig in the foreground until SIGTERM/SIGINT, then stops every server. clusters
// extra clusters (member-1..N) start beside the first; their kubeconfigs are in
// DIR/clusters/member-N/.
func serve(dir string, clusters int) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	rig, err := sandbox.Start(startCtx, sandbox.Options{Dir: dir, Logger: log})
	if err != nil {
		return err
	}
	defer rig.Stop()
	var members []*sandbox.Cluster
	for i := 1; i <= clusters; i++ {
		c, err := rig.StartCluster(startCtx, fmt.Sprintf("member-%d", i))
		if err != nil {
			return err
		}
		members = append(members, c)
		log.Info("extra cluster ready", "cluster", c.Name, "kube", c.KubeURL, "kubeconfig", c.AdminKubeconfig, "took", c.StartTime.Round(100*time.Millisecond))
	}
	var pids []string
	for _, p := range rig.Pids() {
		pids = append(pids, strconv.Itoa(p))
	}
	if err := os.WriteFile(filepath.Join(dir, childFile), []byte(strings.Join(pids, "\n")), 0o600); err != nil {
		return err
	}
	if err := sandbox.SeedDemo(startCtx, rig); err != nil {
		return err
	}
	if err := sandbox.WriteUserFiles(rig, dir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, readyFile), nil, 0o600); err != nil {
		return err
	}
	log.Info("sandbox ready", "kube", rig.KubeURL, "harbor", rig.HarborURL)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping the sandbox")
			return nil
		case <-tick.C:
			if err := rig.Healthy(); err != nil {
				return fmt.Errorf("a sandbox server died: %w", err)
			}
			for _, c := range members {
				if err := c.Healthy(); err != nil {
					return fmt.Errorf("a sandbox server died: %w", err)
				}
			}
		}
	}
}
