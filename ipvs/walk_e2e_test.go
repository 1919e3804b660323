//go:build e2e

package ipvs_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
)

// TestKernelWalk: on a real kernel, Walk lists what Snapshot lists, in the
// same order, across many reads of the service dump with destination
// dumps between them (pages of its own size, of 256 and of one service); fn's error ends it, and the Client works after.
func TestKernelWalk(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	var ops []ipvs.Op
	for i := range 2000 {
		s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)}), Port: 80, Scheduler: "rr"}
		switch i % 10 {
		case 3:
			s = ipvs.Service{Protocol: ipvs.UDP, Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), Port: 53, Scheduler: "wlc"}
		case 7:
			s = ipvs.Service{Family: ipvs.IPv4, FWMark: uint32(i), Scheduler: "sh"}
		}
		ops = append(ops, ipvs.CreateService(s))
		for j := range i % 3 {
			d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{172, 18, byte(i), byte(j)}), Port: 8080, Weight: uint32(j), ForwardMethod: ipvs.Masquerade}
			if s.Addr.Is6() {
				d.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb9, 13: byte(j), 14: byte(i >> 8), 15: byte(i)})
			}
			ops = append(ops, ipvs.CreateDestination(s.Key(), d))
		}
	}
	if _, err := c.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	want, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{0, 256, 1} { // 0: Walk's own
		restore := func() {}
		if page > 0 {
			restore = ipvs.SetWalkPage(page)
		}
		var got []ipvs.ServiceEntry
		err = c.Walk(ctx, func(svc *ipvs.Service, dests []ipvs.Destination) error {
			got = append(got, ipvs.ServiceEntry{Service: *svc, Destinations: append(make([]ipvs.Destination, 0, len(dests)), dests...)})
			return nil
		})
		restore()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpValues, ignoreCounters); diff != "" {
			t.Fatalf("Walk, pages of %d (-Snapshot +Walk):\n%s", page, diff)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err = c.Walk(ctx, func(*ipvs.Service, []ipvs.Destination) error {
		if calls++; calls == 700 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 700 {
		t.Errorf("fn's error: Walk returned %v after %d calls, want %v after 700", err, calls, stop)
	}
	if svcs, err := c.Services(ctx); err != nil || len(svcs) != 2000 {
		t.Errorf("after fn's error: Services = %d services, %v", len(svcs), err)
	}
}
