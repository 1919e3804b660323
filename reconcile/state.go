package reconcile

import (
	"context"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// State is an IPVS table as plain values.
type State struct {
	// Services are the services with their destinations, as
	// ipvs.Client.Snapshot returns them (each service's destinations
	// newest first). Counters and connection counts are ignored. A
	// service or destination listed twice counts once, as its last
	// listing.
	Services []ipvs.ServiceEntry
	// Timeouts are the connection timeouts. A zero field is unknown in a
	// current State and "leave as it is" in a desired one.
	Timeouts ipvs.Timeouts
}

// Read returns the kernel's table: a Snapshot with opts and the timeouts.
// A State read only to plan or diff needs no counters: pass
// ipvs.SkipStats.
func Read(ctx context.Context, c *ipvs.Client, opts ...ipvs.ReadOption) (State, error) {
	entries, err := c.Snapshot(ctx, opts...)
	if err != nil {
		return State{}, err
	}
	t, err := c.Timeouts(ctx)
	if err != nil {
		return State{}, err
	}
	return State{Services: entries, Timeouts: t}, nil
}

// ReadTable is NewTable of Read's State without the State: the kernel's
// table is walked (ipvs.Client.Walk) a service at a time into the Table,
// so that a big table is not held twice over (as values, then in the
// Table). A Table holds no counters, so none are decoded.
func ReadTable(ctx context.Context, c *ipvs.Client) (*Table, error) {
	t := NewTable(State{})
	err := c.Walk(ctx, func(svc *ipvs.Service, dests []ipvs.Destination) error {
		t.addListed(svc, dests)
		return nil
	}, ipvs.SkipStats)
	if err != nil {
		return nil, err
	}
	if t.timeouts, err = c.Timeouts(ctx); err != nil {
		return nil, err
	}
	return t, nil
}
