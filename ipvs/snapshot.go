package ipvs

import (
	"context"

	"os"
	"os/exec"
)

// Snapshot returns every service with its destinations: one service dump,
// then one destination dump per service, all in one session (the kernel
// has no dump of both, and runs one dump at a time per socket).
func (c *Client) Snapshot(ctx context.Context) ([]ServiceEntry, error) {
	var entries []ServiceEntry
	err := c.sessionLinks(ctx, true, func(l, dl link) error {
		svcs, err := c.dumpServices(l)
		if err != nil {
			return err
		}
		entries = make([]ServiceEntry, len(svcs))
		for i := range svcs {
			dests, err := c.dumpDestinations(dl, svcs[i].Key())
			if err != nil {
				return err
			}
			entries[i] = ServiceEntry{Service: svcs[i], Destinations: dests}
		}
		return nil
	})
	if err != nil {
		return nil, err
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
