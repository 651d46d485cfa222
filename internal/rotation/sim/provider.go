package sim

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/providers"
)

// Robot is one credential held by the simulated provider (a Harbor robot account), tagged
// with the cluster and the run that issued it.
type Robot struct {
	ID         int
	Credential string // the config credential of the Spec it was issued for
	GivenName  string // the name asked for (Spec.Name), or the one the provider made up
	Name       string // the full name (Harbor: robot$<given>), which is also the login
	Password   string
	Projects   []string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	Disabled   bool
	Deleted    bool
	Issuer     string // cluster name
	IssuerRun  int
	// RevokedBy is "<cluster> run <n>" of the run whose Revoke deleted it.
	RevokedBy string
	// Fate is what happened to it behind the rotator's back (deleted, disabled...), if anything.
	Fate string
}

// live reports whether the robot authenticates at now.
func (b *Robot) live(now time.Time) bool {
	return !b.Deleted && !b.Disabled && (b.ExpiresAt.IsZero() || now.Before(b.ExpiresAt))
}

func (b *Robot) String() string {
	s := fmt.Sprintf("robot %d (%s, issued by %s run %d", b.ID, b.Credential, b.Issuer, b.IssuerRun)
	switch {
	case b.RevokedBy != "":
		s += ", revoked by " + b.RevokedBy
	case b.Fate != "":
		s += ", " + b.Fate + " behind the rotator's back"
	}
	return s + ")"
}

// Provider is the in-memory provider both clusters share. Its time is the world's clock, not
// either cluster's (they may be skewed).
type Provider struct {
	w      *World
	robots []*Robot // robots[i].ID == i+1
}

func (p *Provider) robot(id string) *Robot {
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || n > len(p.robots) {
		return nil
	}
	return p.robots[n-1]
}

// byLogin finds the robot a registry login names, if its password matches.
func (p *Provider) byLogin(user, password string) *Robot {
	for _, b := range p.robots {
		if !b.Deleted && b.Name == user && b.Password == password {
			return b
		}
	}
	return nil
}

// liveRobots are the robots that authenticate now, by id.
func (p *Provider) liveRobots() []*Robot {
	var out []*Robot
	now := p.w.clock.Now()
	for _, b := range p.robots {
		if b.live(now) {
			out = append(out, b)
		}
	}
	return out
}

func (p *Provider) create(r *run, spec providers.Spec) (*Robot, error) {
	w := p.w
	now := w.clock.Now()
	given := spec.Name
	if given == "" { // today's core lets the provider name it, as Harbor's client does
		given = fmt.Sprintf("%s%s-%04x", spec.NamePrefix, now.UTC().Format("20060102t150405"), w.ids.Uint32()&0xffff)
	}
	for _, b := range p.robots {
		if !b.Deleted && b.GivenName == given {
			return nil, fmt.Errorf("harbor: create robot %s: 409 Conflict: a robot account with this name already exists", given)
		}
	}
	b := &Robot{
		ID: len(p.robots) + 1, Credential: spec.Credential, GivenName: given, Name: "robot$" + given,
		Password: fmt.Sprintf("%016x", w.ids.Uint64()), Projects: slices.Clone(spec.Projects),
		IssuedAt: now, Issuer: r.cluster.Name, IssuerRun: r.id,
	}
	if spec.Lifetime > 0 {
		b.ExpiresAt = now.Add(spec.Lifetime)
	}
	p.robots = append(p.robots, b)
	return b, nil
}

func (b *Robot) owned() providers.Owned {
	return providers.Owned{ID: strconv.Itoa(b.ID), Name: b.Name, GivenName: b.GivenName,
		IssuedAt: b.IssuedAt, ExpiresAt: b.ExpiresAt, Disabled: b.Disabled}
}

// providerFault is drawn at each provider call while the schedule has made the provider flaky.
type providerFault int

const (
	noFault providerFault = iota
	fault5xx
	faultTimeout
	// faultTimeoutDone: the provider did it, and the answer never came back.
	faultTimeoutDone
)

func (w *World) providerFault(write bool) providerFault {
	if w.faults.providerRuns == 0 || w.chaos.Float64() >= w.faults.providerRate {
		return noFault
	}
	switch x := w.chaos.IntN(3); {
	case x == 2 && write:
		return faultTimeoutDone
	case x == 1:
		return faultTimeout
	}
	return fault5xx
}

func faultError(call string, f providerFault) error {
	switch f {
	case fault5xx:
		return fmt.Errorf("harbor: %s: 503 Service Unavailable", call)
	default:
		return fmt.Errorf("harbor: %s: %w", call, context.DeadlineExceeded)
	}
}

// providerView is the provider as one run sees it: its calls go through the run's gate, so
// the provider knows which cluster (and run) asks.
type providerView struct{ r *run }

// Issue implements providers.Provider.
func (v providerView) Issue(ctx context.Context, spec providers.Spec) (providers.Credential, error) {
	var out providers.Credential
	p := v.r.w.provider
	what := "provider issue " + spec.Credential
	if spec.Name != "" {
		what += " name=" + spec.Name
	}
	err := v.r.gate(ctx, providerWrite, what, func() (bool, error) {
		f := v.r.w.providerFault(true)
		if f == fault5xx || f == faultTimeout {
			return false, faultError("create robot", f)
		}
		b, err := p.create(v.r, spec)
		if err != nil {
			return false, err
		}
		v.r.w.callf(v.r, kubeRead, "  (the provider created robot %d)", b.ID)
		if f == faultTimeoutDone {
			return true, faultError("create robot", f)
		}
		out = providers.Credential{Owned: b.owned(), Username: b.Name, Password: b.Password}
		return true, nil
	})
	if err != nil {
		return providers.Credential{}, err
	}
	return out, nil
}

// Revoke implements providers.Provider: a robot already gone is not an error.
func (v providerView) Revoke(ctx context.Context, spec providers.Spec, id string) error {
	p := v.r.w.provider
	return v.r.gate(ctx, providerWrite, "provider revoke "+spec.Credential+" id="+id, func() (bool, error) {
		f := v.r.w.providerFault(true)
		if f == fault5xx || f == faultTimeout {
			return false, faultError("delete robot "+id, f)
		}
		b := p.robot(id)
		if b == nil || b.Deleted {
			return false, nil
		}
		v.r.w.violate(invNoRevokeWhileHeld(v.r, b)...)
		v.r.w.violate(invNoCrossClusterRevoke(v.r, b)...)
		b.Deleted = true
		b.RevokedBy = fmt.Sprintf("%s run %d", v.r.cluster.Name, v.r.id)
		if f == faultTimeoutDone {
			return true, faultError("delete robot "+id, f)
		}
		return true, nil
	})
}

// List implements providers.Provider: every robot (of any cluster) whose given name starts
// with the prefix, expired and disabled ones included, as Harbor lists them.
func (v providerView) List(ctx context.Context, spec providers.Spec) ([]providers.Owned, error) {
	var out []providers.Owned
	p := v.r.w.provider
	err := v.r.gate(ctx, providerRead, "provider list "+spec.Credential, func() (bool, error) {
		if f := v.r.w.providerFault(false); f != noFault {
			return false, faultError("list robots", f)
		}
		for _, b := range p.robots {
			if !b.Deleted && strings.HasPrefix(b.GivenName, spec.NamePrefix) {
				out = append(out, b.owned())
			}
		}
		return false, nil
	})
	return out, err
}
