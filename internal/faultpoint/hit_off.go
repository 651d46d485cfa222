//go:build !faultpoints

package faultpoint

// Hit does nothing in production builds.
func Hit(string) {}
