package ipvs_test

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// walkTable fills the kernel with n services, the i-th with i%4
// destinations.
func walkTable(t *testing.T, c *ipvs.Client, n int) {
	t.Helper()
	var ops []ipvs.Op
	for i := range n {
		s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 6, byte(i >> 8), byte(i)}), Port: 80}
		ops = append(ops, ipvs.CreateService(s))
		for j := range i % 4 {
			ops = append(ops, ipvs.CreateDestination(s.Key(), ipvs.Destination{
				Addr: netip.AddrFrom4([4]byte{172, 17, byte(i), byte(j)}), Port: 8080, Weight: uint32(j)}))
		}
	}
	if _, err := c.Apply(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
}

// TestWalk: Walk lists what Snapshot lists, in its order, page after
// page (of 256 services here); fn's error ends it and comes back as it
// is; a failed destination dump in a later page ends it with that dump's
// error; and the Client works after each.
func TestWalk(t *testing.T) { ipvs.BothWays(t, ipvs.SetWalkAhead, testWalk) }

func testWalk(t *testing.T) {
	defer ipvs.SetWalkPage(256)()
	c, k := fakeClient(t)
	ctx := context.Background()
	walkTable(t, c, 600)
	want := walksAsSnapshot(t, c, cmpFake)
	walkStops(t, c, 300, 600)

	// The destination dump of the 400th service finds it gone.
	dumps := 0
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdGetDest {
			if dumps++; dumps == 400 {
				return ipvstest.Fail(unix.ESRCH)
			}
		}
		return ipvstest.Fault{}
	})
	calls := 0
	err := c.Walk(ctx, func(*ipvs.Service, []ipvs.Destination) error { calls++; return nil })
	if !errors.Is(err, ipvs.ErrServiceNotFound) || calls != 399 {
		t.Errorf("400th dump failed: Walk returned %v after %d calls, want ErrServiceNotFound after 399", err, calls)
	}
	var oe *ipvs.OpError
	if !errors.As(err, &oe) || oe.Object != want[399].Service.Key().String() {
		t.Errorf("400th dump failed: %v does not name %v", err, want[399].Service.Key())
	}
	k.InjectFault(nil)
	if svcs, err := c.Services(ctx); err != nil || len(svcs) != 600 {
		t.Errorf("after a failed dump: Services = %d services, %v", len(svcs), err)
	}
}

// TestWalkOneSocket: where a second socket cannot be opened, Walk reads
// the services first and lists the same.
func TestWalkOneSocket(t *testing.T) {
	k := ipvstest.New()
	var dials atomic.Int32
	c, err := ipvs.New(&ipvs.Config{Dial: func() (*netlink.Conn, error) {
		if dials.Add(1) > 1 {
			return nil, unix.EMFILE
		}
		return k.Dial()
	}})
	must(t, err)
	defer c.Close()
	walkTable(t, c, 300)
	walksAsSnapshot(t, c, cmpFake)
	if dials.Load() < 2 {
		t.Errorf("dialled %d times: the second socket was never tried", dials.Load())
	}
}

// walksAsSnapshot checks that Walk lists what Snapshot lists, compared
// with opts, and returns it.
func walksAsSnapshot(t *testing.T, c *ipvs.Client, opts ...cmp.Option) []ipvs.ServiceEntry {
	t.Helper()
	ctx := context.Background()
	want, err := c.Snapshot(ctx)
	must(t, err)
	var got []ipvs.ServiceEntry
	must(t, c.Walk(ctx, func(svc *ipvs.Service, dests []ipvs.Destination) error {
		got = append(got, ipvs.ServiceEntry{Service: *svc, Destinations: append(make([]ipvs.Destination, 0, len(dests)), dests...)})
		return nil
	}))
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Fatalf("Walk (-Snapshot +Walk):\n%s", diff)
	}
	return want
}

// walkStops checks that fn's error at the call numbered at ends Walk with
// that error, and that the Client then lists all n services.
func walkStops(t *testing.T, c *ipvs.Client, at, n int) {
	t.Helper()
	ctx := context.Background()
	stop := errors.New("stop")
	calls := 0
	err := c.Walk(ctx, func(*ipvs.Service, []ipvs.Destination) error {
		if calls++; calls == at {
			return stop
		}
		return nil
	})
	if err != stop || calls != at {
		t.Errorf("fn's error: Walk returned %v after %d calls, want %v after %d", err, calls, stop, at)
	}
	if svcs, err := c.Services(ctx); err != nil || len(svcs) != n {
		t.Errorf("after fn's error: Services = %d services, %v", len(svcs), err)
	}
}
