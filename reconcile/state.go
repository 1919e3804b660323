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

// Read returns the kernel's table: a Snapshot and the timeouts.
func Read(ctx context.Context, c *ipvs.Client) (State, error) {
	entries, err := c.Snapshot(ctx)
	if err != nil {
		return State{}, err
	}
	t, err := c.Timeouts(ctx)
	if err != nil {
		return State{}, err
	}
	return State{Services: entries, Timeouts: t}, nil
}
