package gitlabdouble

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// nsKind tells a project from a group.
type nsKind string

const (
	kindProject nsKind = "project"
	kindGroup   nsKind = "group"
)

// namespace is a group or a project.
type namespace struct {
	id     int64
	path   string // full path, e.g. "group-a/app"
	kind   nsKind
	parent *namespace // the group holding it; nil for a top-level group
}

// pathSegment is GitLab's rule for one segment of a group or project path, simplified: letters,
// digits, '_', '-' and '.', not starting with '-' or '.'.
var pathSegment = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// addNamespaces creates the groups, then the projects, each of whose parents must exist.
func (s *Server) addNamespaces(groups, projects []string) error {
	seen := map[string]bool{}
	add := func(path string, kind nsKind) error {
		segs := strings.Split(path, "/")
		for _, seg := range segs {
			if !pathSegment.MatchString(seg) {
				return fmt.Errorf("gitlabdouble: %s path %q is invalid", kind, path)
			}
		}
		if seen[strings.ToLower(path)] {
			return fmt.Errorf("gitlabdouble: path %q is repeated", path)
		}
		seen[strings.ToLower(path)] = true
		ns := &namespace{path: path, kind: kind}
		if len(segs) > 1 {
			ns.parent = s.lookupPath(kindGroup, strings.Join(segs[:len(segs)-1], "/"))
			if ns.parent == nil {
				return fmt.Errorf("gitlabdouble: the parent group of %s %q is not in Options.Groups", kind, path)
			}
		} else if kind == kindProject {
			return fmt.Errorf("gitlabdouble: project %q must be inside a group", path)
		}
		if kind == kindGroup {
			ns.id = int64(len(s.groups) + 1)
			s.groups = append(s.groups, ns)
		} else {
			ns.id = int64(len(s.projects) + 1)
			s.projects = append(s.projects, ns)
		}
		return nil
	}
	for _, g := range groups {
		if err := add(g, kindGroup); err != nil {
			return err
		}
	}
	for _, p := range projects {
		if err := add(p, kindProject); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds a project or group by numeric id or full path (case-insensitive, as GitLab's
// routes are). Groups and projects are fixed at New, so no lock is needed.
func (s *Server) lookup(kind nsKind, id string) *namespace {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		list := s.projects
		if kind == kindGroup {
			list = s.groups
		}
		if n >= 1 && n <= int64(len(list)) {
			return list[n-1]
		}
		return nil
	}
	return s.lookupPath(kind, id)
}

func (s *Server) lookupPath(kind nsKind, path string) *namespace {
	list := s.projects
	if kind == kindGroup {
		list = s.groups
	}
	for _, ns := range list {
		if strings.EqualFold(ns.path, path) {
			return ns
		}
	}
	return nil
}

// covers reports whether a token held by holder reaches project: the project itself, or a
// project anywhere below the group.
func (holder *namespace) covers(project *namespace) bool {
	for n := project; n != nil; n = n.parent {
		if n == holder {
			return true
		}
	}
	return false
}

// projectOfRepository is the project a registry repository belongs to: the project whose path
// is the repository's path or a prefix of it ("group-a/app" for "group-a/app/worker"). The
// longest match wins, as in GitLab's ContainerRegistry::Path.
func (s *Server) projectOfRepository(repo string) *namespace {
	var best *namespace
	for _, p := range s.projects {
		lp, lr := strings.ToLower(p.path), strings.ToLower(repo)
		if (lr == lp || strings.HasPrefix(lr, lp+"/")) && (best == nil || len(p.path) > len(best.path)) {
			best = p
		}
	}
	return best
}
