//go:build mobyupstream

// Helpers that moby/ipvs's ipvs_linux_test.go calls from its own package,
// for running that file against this package (e2e/build-moby-tests.sh).

package ipvs

import "github.com/mdlayher/genetlink"

// getIPVSFamily returns the id of the generic netlink family "IPVS".
func getIPVSFamily() (int, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	f, err := c.GetFamily("IPVS")
	if err != nil {
		return 0, err
	}
	return int(f.ID), nil
}
