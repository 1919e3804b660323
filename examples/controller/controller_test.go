package controller

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

func newController(t *testing.T) (*Controller, *ipvstest.Kernel, map[netip.AddrPort]bool) {
	t.Helper()
	k := ipvstest.New()
	c, err := ipvs.NewContext(context.Background(), &ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	down := map[netip.AddrPort]bool{}
	var mu sync.Mutex
	ctl := &Controller{
		Client: c,
		Service: ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80,
			Scheduler: "wrr", Flags: ipvs.FlagPersistent, Timeout: 300},
		Healthy: func(_ context.Context, b Backend) bool {
			mu.Lock()
			defer mu.Unlock()
			return !down[b.Addr]
		},
	}
	return ctl, k, down
}

// weights returns the kernel's destinations of the one service.
func weights(t *testing.T, k *ipvstest.Kernel) map[netip.AddrPort]uint32 {
	t.Helper()
	svcs := k.Services()
	if len(svcs) != 1 {
		t.Fatalf("kernel holds %d services, want 1", len(svcs))
	}
	got := map[netip.AddrPort]uint32{}
	for _, d := range svcs[0].Destinations {
		got[netip.AddrPortFrom(d.Addr, d.Port)] = d.Weight
	}
	return got
}

func TestSyncCreatesDrainsAndRemoves(t *testing.T) {
	ctl, k, down := newController(t)
	ctx := context.Background()
	a, b, c := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:80"), netip.MustParseAddrPort("10.0.0.3:80")
	backends := []Backend{{a, 10}, {b, 20}, {c, 30}}
	if err := ctl.Sync(ctx, backends); err != nil {
		t.Fatal(err)
	}
	check(t, weights(t, k), map[netip.AddrPort]uint32{a: 10, b: 20, c: 30})

	// b fails its check: drained, not removed; its threshold stays.
	svc := ctl.Service.Key()
	if err := ctl.Client.ModifyDestination(ctx, svc, ipvs.DestinationKey{Addr: b.Addr(), Port: b.Port()},
		func(d *ipvs.Destination) { d.UpperThreshold = 500 }); err != nil {
		t.Fatal(err)
	}
	down[b] = true
	if err := ctl.Sync(ctx, backends); err != nil {
		t.Fatal(err)
	}
	check(t, weights(t, k), map[netip.AddrPort]uint32{a: 10, b: 0, c: 30})
	for _, d := range k.Services()[0].Destinations {
		if d.Port == b.Port() && d.Addr == b.Addr() && d.UpperThreshold != 500 {
			t.Errorf("drain lost the threshold: %+v", d)
		}
	}

	// b recovers, c leaves the list.
	delete(down, b)
	if err := ctl.Sync(ctx, backends[:2]); err != nil {
		t.Fatal(err)
	}
	check(t, weights(t, k), map[netip.AddrPort]uint32{a: 10, b: 20})
}

func TestSyncRestoresServiceSettings(t *testing.T) {
	ctl, k, _ := newController(t)
	ctx := context.Background()
	if err := ctl.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Someone else changes the scheduler; the next sync puts it back.
	if err := ctl.Client.ModifyService(ctx, ctl.Service.Key(), func(s *ipvs.Service) { s.Scheduler = "rr" }); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := k.Services()[0].Service.Scheduler; got != "wrr" {
		t.Errorf("scheduler after sync = %q, want wrr", got)
	}
}

// TestRunStopsWithContext: Run reports failed syncs and returns when its
// context ends, even while the kernel does not answer.
func TestRunStopsWithContext(t *testing.T) {
	ctl, k, _ := newController(t)
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() {
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := ctl.Run(ctx, []Backend{{netip.MustParseAddrPort("10.0.0.1:80"), 1}}, time.Millisecond, func(err error) {
		t.Errorf("a sync failed before the context ended: %v", err)
	})
	if err != context.DeadlineExceeded {
		t.Errorf("Run = %v, want DeadlineExceeded", err)
	}
}

func check(t *testing.T, got, want map[netip.AddrPort]uint32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("destinations %v, want %v", got, want)
		return
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("destinations %v, want %v", got, want)
			return
		}
	}
}
