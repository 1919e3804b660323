package ipvs

import (
	"context"
	"os"
	"os/exec"
)

// Snapshot returns every service with its destinations: one service dump,
// then one destination dump per service on the same socket.
func (c *Client) Snapshot(ctx context.Context) ([]ServiceEntry, error) {
	svcs, err := c.Services(ctx)
	if err != nil {
		return nil, err
	}
	entries := make([]ServiceEntry, len(svcs))
	for i, s := range svcs {
		dests, err := c.Destinations(ctx, s.Key())
		if err != nil {
			return nil, err
		}
		entries[i] = ServiceEntry{Service: s, Destinations: dests}
	}
	return entries, nil
}

// LoadModule runs "/sbin/modprobe -- ip_vs", as ipvsadm does when it finds
// no IPVS. The library never calls it by itself: most kernels load the
// module when the family is first looked up, and modprobe rarely works in
// containers. The command's output goes to the process's stderr, as
// ipvsadm's does.
func LoadModule(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "/sbin/modprobe", "--", "ip_vs")
	cmd.Stderr = os.Stderr
	return cmd.Run()
}
