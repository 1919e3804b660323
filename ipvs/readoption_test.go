package ipvs_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// TestReadsSkipStats: every bulk read with ipvs.SkipStats gives what the
// same read gives without it, but with every Stats zero; connection counts
// stay. Both ways of walking.
func TestReadsSkipStats(t *testing.T) {
	ipvs.BothWays(t, ipvs.SetWalkAhead, testReadsSkipStats)
}

func testReadsSkipStats(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	for i := range 3 {
		s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 7, 0, byte(i)}), Port: 80}
		must(t, c.CreateService(ctx, s))
		must(t, k.SetStats(s.Key(), ipvs.Stats{Conns: uint64(i + 1), InBytes: 1 << 40, OutBPS: 7}))
		for j := range 2 {
			d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{172, 17, byte(i), byte(j)}), Port: 8080, Weight: 1}
			must(t, c.CreateDestination(ctx, s.Key(), d))
			must(t, k.SetDestStats(s.Key(), d.Key(), ipvs.Stats{InPkts: uint64(j + 1), CPS: 3}))
			must(t, k.SetDestConns(s.Key(), d.Key(), 5, 6, uint32(j)))
		}
	}
	full, err := c.Snapshot(ctx)
	must(t, err)
	want := make([]ipvs.ServiceEntry, len(full))
	for i, e := range full {
		if e.Service.Stats == (ipvs.Stats{}) || e.Destinations[0].Stats == (ipvs.Stats{}) {
			t.Fatalf("the fake's counters did not come back: %+v", e)
		}
		want[i] = e
		want[i].Service.Stats = ipvs.Stats{}
		want[i].Destinations = nil
		for _, d := range e.Destinations {
			d.Stats = ipvs.Stats{}
			want[i].Destinations = append(want[i].Destinations, d)
		}
	}
	check := func(name string, got []ipvs.ServiceEntry) {
		t.Helper()
		if diff := cmp.Diff(want, got, cmpFake); diff != "" {
			t.Errorf("%s with SkipStats (-want +got):\n%s", name, diff)
		}
	}

	snap, err := c.Snapshot(ctx, ipvs.SkipStats)
	must(t, err)
	check("Snapshot", snap)

	var walked []ipvs.ServiceEntry
	must(t, c.Walk(ctx, func(svc *ipvs.Service, dests []ipvs.Destination) error {
		walked = append(walked, ipvs.ServiceEntry{Service: *svc, Destinations: append([]ipvs.Destination(nil), dests...)})
		return nil
	}, ipvs.SkipStats))
	check("Walk", walked)

	svcs, err := c.Services(ctx, ipvs.SkipStats)
	must(t, err)
	var listed, perService []ipvs.ServiceEntry
	must(t, c.WalkDestinations(ctx, svcs, func(i int, dests []ipvs.Destination) error {
		listed = append(listed, ipvs.ServiceEntry{Service: svcs[i], Destinations: append([]ipvs.Destination(nil), dests...)})
		return nil
	}, ipvs.SkipStats))
	check("Services and WalkDestinations", listed)
	for _, s := range svcs {
		dests, err := c.Destinations(ctx, s.Key(), ipvs.SkipStats)
		must(t, err)
		perService = append(perService, ipvs.ServiceEntry{Service: s, Destinations: dests})
	}
	check("Services and Destinations", perService)
}
