package registrytoken

import (
	"fmt"
	"strings"
)

// ParseScopes parses the scope query parameters of a token request, e.g.
// "repository:proj/app:pull,push". A request may carry several scope parameters, and one
// parameter may hold several scopes separated by spaces (distribution's token spec). The first
// colon ends the resource type, the last colon starts the actions: a repository name may
// contain slashes and, when it names a host with a port, colons.
//
// A scope with an empty action list yields an Access without actions; a scope without a type,
// a name or the second colon is an error.
func ParseScopes(scopes []string) ([]Access, error) {
	var out []Access
	for _, param := range scopes {
		for _, s := range strings.Fields(param) {
			a, err := parseScope(s)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}

func parseScope(s string) (Access, error) {
	first := strings.Index(s, ":")
	last := strings.LastIndex(s, ":")
	if first < 0 || first == last {
		return Access{}, fmt.Errorf("registrytoken: scope %q: want type:name:actions", s)
	}
	a := Access{Type: s[:first], Name: s[first+1 : last], Actions: []string{}}
	if a.Type == "" || a.Name == "" {
		return Access{}, fmt.Errorf("registrytoken: scope %q: empty resource type or name", s)
	}
	seen := map[string]bool{}
	for _, act := range strings.Split(s[last+1:], ",") {
		act = strings.TrimSpace(act)
		if act == "" || seen[act] {
			continue
		}
		seen[act] = true
		a.Actions = append(a.Actions, act)
	}
	return a, nil
}

// String formats a back into scope syntax, "type:name:a,b".
func (a Access) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}
