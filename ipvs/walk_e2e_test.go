//go:build e2e

package ipvs_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// TestKernelWalk: on a real kernel, Walk lists what Snapshot lists, in the
// same order, across many reads of the service dump with destination
// dumps between them (pages of its own size, of 256 and of one service);
// fn's error ends it, and the Client works after.
func TestKernelWalk(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	var ops []ipvs.Op
	for i, s := range mixedServices(2000) {
		ops = append(ops, ipvs.CreateService(s))
		for j := range i % 3 {
			d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{172, 18, byte(i), byte(j)}), Port: 8080, Weight: uint32(j), ForwardMethod: ipvs.Masquerade}
			if s.Key().Family == ipvs.IPv6 {
				d.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb9, 13: byte(j), 14: byte(i >> 8), 15: byte(i)})
			}
			ops = append(ops, ipvs.CreateDestination(s.Key(), d))
		}
	}
	if _, err := c.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	walksAsSnapshot(t, c, cmpValues, ignoreCounters)
	for _, page := range []int{256, 1} {
		restore := ipvs.SetWalkPage(page)
		walksAsSnapshot(t, c, cmpValues, ignoreCounters)
		restore()
	}
	walkStops(t, c, 700, 2000)
}
