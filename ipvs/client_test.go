package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

var cmpFake = cmpopts.EquateComparable(netip.Addr{}, ipvs.Netmask{})

func fakeClient(t *testing.T, opts ...ipvstest.Option) (*ipvs.Client, *ipvstest.Kernel) {
	t.Helper()
	k := ipvstest.New(opts...)
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

func TestFakeRoundTrip(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr",
		Flags: ipvs.FlagPersistent, Timeout: 300, Netmask: ipvs.IPv4NetmaskBits(0xffffff00), PEName: "sip"}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	dest := ipvs.Destination{Addr: netip.MustParseAddr("2001:db8::2"), Port: 8080, ForwardMethod: ipvs.Tunnel,
		Weight: 70000, TunnelType: ipvs.GRE, TunnelFlags: ipvs.TunnelCsum}
	if err := c.CreateDestination(ctx, svc.Key(), dest); err != nil {
		t.Fatal(err)
	}
	stats := ipvs.Stats{Conns: 1 << 40, InPkts: 2, OutPkts: 3, InBytes: 4, OutBytes: 5, CPS: 6, InPPS: 7, OutPPS: 8, InBPS: 9, OutBPS: 10}
	if err := k.SetStats(svc.Key(), stats); err != nil {
		t.Fatal(err)
	}
	if err := k.SetDestConns(svc.Key(), dest.Key(), 4294967295, 2, 3); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc.Family, svc.Stats = ipvs.IPv4, stats
	dest.ActiveConns, dest.InactiveConns, dest.PersistentConns = 4294967295, 2, 3
	want := []ipvs.ServiceEntry{{Service: svc, Destinations: []ipvs.Destination{dest}}}
	if diff := cmp.Diff(want, snap, cmpFake); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
}

// TestFakeOldKernels reads through every fallback: no STATS64 (pre-4.1,
// counters widened from 32 bits), no destination family (pre-3.18), no
// tunnel attributes (pre-5.2).
func TestFakeOldKernels(t *testing.T) {
	c, k := fakeClient(t, ipvstest.WithoutStats64(), ipvstest.WithoutDestAddrFamily(), ipvstest.WithoutTunnel())
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53, Scheduler: "rr"}
	must(t, c.CreateService(ctx, svc))
	d := ipvs.Destination{Addr: netip.MustParseAddr("2001:db8::2"), Port: 53, ForwardMethod: ipvs.Masquerade, Weight: 1}
	must(t, c.CreateDestination(ctx, svc.Key(), d))
	must(t, k.SetStats(svc.Key(), ipvs.Stats{Conns: 5, InBytes: 1 << 40}))
	got, err := c.Service(ctx, svc.Key())
	must(t, err)
	if got.Stats.Conns != 5 || got.Stats.InBytes != 1<<40 {
		t.Errorf("32-bit stats = %+v", got.Stats)
	}
	ds, err := c.Destinations(ctx, svc.Key())
	must(t, err)
	if len(ds) != 1 || ds[0].Addr != d.Addr {
		t.Errorf("destinations without a family attribute = %+v", ds)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeadlineOnStalledKernel: a request the kernel never answers ends at
// the context's deadline, and the next call works on a fresh socket.
func TestDeadlineOnStalledKernel(t *testing.T) {
	c, k := fakeClient(t)
	var stall atomic.Bool
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if stall.Load() && r.IsIPVS() {
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	stall.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Services(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Services on a stalled kernel: %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("deadline honoured only after %v", time.Since(start))
	}
	stall.Store(false)
	if _, err := c.Services(context.Background()); err != nil {
		t.Fatalf("Services after a timeout: %v", err)
	}
}

// TestCancelInterruptsBlockedCall: cancelling the context unblocks a call
// waiting on the socket.
func TestCancelInterruptsBlockedCall(t *testing.T) {
	c, k := fakeClient(t)
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdFlush {
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Flush(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Flush after cancel: %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not interrupt the blocked call")
	}
	if _, err := c.Info(context.Background()); err != nil {
		t.Errorf("Info after cancel: %v", err)
	}
}

// TestLateReplyIsNotReadByNextCall: a reply that arrives after its caller
// gave up must not be taken for the next request's answer.
func TestLateReplyIsNotReadByNextCall(t *testing.T) {
	c, k := fakeClient(t)
	var n atomic.Int32
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdGetService && n.Add(1) == 1 {
			return ipvstest.DelayReply(100 * time.Millisecond)
		}
		return ipvstest.Fault{}
	})
	must(t, c.CreateService(context.Background(), ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Services(ctx); err == nil {
		t.Fatal("Services returned before the delayed reply")
	}
	time.Sleep(150 * time.Millisecond)
	info, err := c.Info(context.Background())
	if err != nil || info.Version.String() != "1.2.1" {
		t.Errorf("Info after a late reply = %+v, %v", info, err)
	}
}

// TestLateDestinationReply: destination dumps have their own socket; a
// reply that comes late there must not answer the next dump either, and a
// timeout on it leaves the client usable.
func TestLateDestinationReply(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	must(t, c.CreateService(ctx, svc))
	for _, a := range []string{"192.168.0.1", "192.168.0.2"} {
		must(t, c.CreateDestination(ctx, svc.Key(), ipvs.Destination{Addr: netip.MustParseAddr(a), Port: 80, Weight: 1}))
	}
	other := ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("10.0.0.2"), Port: 53}
	must(t, c.CreateService(ctx, other))

	var n atomic.Int32
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdGetDest {
			switch n.Add(1) {
			case 1:
				return ipvstest.DelayReply(100 * time.Millisecond)
			case 2:
				return ipvstest.Stall()
			}
		}
		return ipvstest.Fault{}
	})
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Destinations(short, svc.Key()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Destinations with a delayed reply: %v, want DeadlineExceeded", err)
	}
	time.Sleep(150 * time.Millisecond)
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := c.Snapshot(short2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Snapshot with a stalled destination dump: %v, want DeadlineExceeded", err)
	}
	// The other service's dump must not see the first one's late answer.
	if d, err := c.Destinations(ctx, other.Key()); err != nil || len(d) != 0 {
		t.Errorf("Destinations(other) after a late reply = %v, %v; want none", d, err)
	}
	entries, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[ipvs.ServiceKey]int{}
	for _, e := range entries {
		got[e.Service.Key()] = len(e.Destinations)
	}
	want := map[ipvs.ServiceKey]int{svc.Key(): 2, other.Key(): 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snapshot after timeouts: destinations per service (-want +got):\n%s", diff)
	}
}

func TestCorruptRepliesAreErrorsNotPanics(t *testing.T) {
	for _, fault := range []ipvstest.Fault{ipvstest.TruncateReply(), ipvstest.WrongSequence()} {
		c, k := fakeClient(t)
		must(t, c.CreateService(context.Background(), ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}))
		var once atomic.Bool
		k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
			if r.IsIPVS() && once.CompareAndSwap(false, true) {
				return fault
			}
			return ipvstest.Fault{}
		})
		if _, err := c.Services(context.Background()); err == nil {
			t.Errorf("%+v: a corrupt reply was accepted", fault)
		}
		if s, err := c.Services(context.Background()); err != nil || len(s) != 1 {
			t.Errorf("%+v: next call = %v, %v", fault, s, err)
		}
	}
}

func TestUnavailableAndPermission(t *testing.T) {
	k := ipvstest.New(ipvstest.Unavailable())
	if _, err := ipvs.New(&ipvs.Config{Dial: k.Dial}); !errors.Is(err, ipvs.ErrUnavailable) {
		t.Errorf("no IPVS: %v", err)
	}
	k = ipvstest.New(ipvstest.PermissionDenied())
	if _, err := ipvs.New(&ipvs.Config{Dial: k.Dial}); !errors.Is(err, ipvs.ErrPermission) || !errors.Is(err, unix.EPERM) {
		t.Errorf("no CAP_NET_ADMIN: %v", err)
	}
}

// TestNameLimits: the kernel takes names up to its limits (a scheduler of
// 15 bytes, a persistence engine of 16) and looks them up (ENOENT for
// unknown ones); longer names are EINVAL.
func TestNameLimits(t *testing.T) {
	c, _ := fakeClient(t)
	ctx := context.Background()
	svc := func(port uint16, sched, pe string) ipvs.Service {
		return ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: port, Scheduler: sched, PEName: pe}
	}
	tests := []struct {
		svc  ipvs.Service
		want error
	}{
		{svc(1, "123456789012345", ""), ipvs.ErrSchedulerNotFound},
		{svc(2, "1234567890123456", ""), unix.EINVAL},
		{svc(3, "rr", "1234567890123456"), ipvs.ErrSchedulerNotFound},
		{svc(4, "rr", "12345678901234567"), unix.EINVAL},
	}
	for _, tt := range tests {
		if err := c.CreateService(ctx, tt.svc); !errors.Is(err, tt.want) {
			t.Errorf("scheduler %q, pe %q: %v, want %v", tt.svc.Scheduler, tt.svc.PEName, err, tt.want)
		}
	}
}

// TestConcurrentWritersAndDumps runs under -race in CI: writers and dumps
// mixed on one Client must neither race nor take each other's replies.
func TestConcurrentWritersAndDumps(t *testing.T) {
	c, k := fakeClient(t, ipvstest.DumpBatchBytes(1024))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 8; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 1, byte(w), byte(i)}), Port: 80, Scheduler: "rr"}
				if err := c.CreateService(ctx, s); err != nil {
					errs <- err
					return
				}
				d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{10, 2, byte(w), byte(i)}), Port: 80, Weight: 1}
				if err := c.CreateDestination(ctx, s.Key(), d); err != nil {
					errs <- err
					return
				}
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				snap, err := c.Snapshot(ctx)
				if err != nil {
					errs <- err
					return
				}
				for _, e := range snap {
					if len(e.Destinations) > 1 {
						errs <- fmt.Errorf("service %v has %d destinations", e.Service.Key(), len(e.Destinations))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(k.Services()); n != 320 {
		t.Errorf("kernel holds %d services, want 320", n)
	}
}

// TestLargeDumpUsesFewBatches: a 2,000-service dump must come in large
// batches, not one page at a time (each batch re-walks the kernel table).
func TestLargeDumpUsesFewBatches(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		must(t, c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), Port: 80}))
	}
	before := k.Requests()
	svcs, err := c.Services(ctx)
	must(t, err)
	if len(svcs) != 2000 {
		t.Fatalf("dumped %d services", len(svcs))
	}
	if n := k.Requests() - before; n != 1 {
		t.Errorf("a dump took %d requests", n)
	}
}

// TestLargeDumpKeepsEveryService: a service dump longer than the chunks
// it is gathered in returns every service once, in the kernel's order.
func TestLargeDumpKeepsEveryService(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	const n = 20000
	ops := make([]ipvs.Op, n)
	for i := range ops {
		ops[i] = ipvs.CreateService(ipvs.Service{Protocol: ipvs.UDP,
			Addr: netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)}), Port: uint16(1 + i%7), Scheduler: "rr"})
	}
	if _, err := c.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	svcs, err := c.Services(ctx)
	must(t, err)
	want := k.Services()
	if len(svcs) != len(want) || len(svcs) != n {
		t.Fatalf("dumped %d services, the kernel holds %d, want %d", len(svcs), len(want), n)
	}
	for i := range svcs {
		if svcs[i].Key() != want[i].Service.Key() || svcs[i].Scheduler != "rr" {
			t.Fatalf("service %d: got %v (%s), want %v", i, svcs[i].Key(), svcs[i].Scheduler, want[i].Service.Key())
		}
	}
}

// TestWalkDestinations: the walk gives each service's destinations, in the
// order of the services given, exactly as Destinations does; an error
// from fn stops it and comes back as it is; a failed dump stops it with
// the dump's error; after any of these the client works on. Both ways of
// walking: one dump after the other, and dumps ahead on a goroutine of
// their own (with more than one CPU).
func TestWalkDestinations(t *testing.T) {
	ipvs.BothWays(t, ipvs.SetWalkAhead, testWalkDestinations)
}

func testWalkDestinations(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	var svcs []ipvs.Service
	for i := range 5 {
		s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 5, 0, byte(i)}), Port: 80}
		must(t, c.CreateService(ctx, s))
		for j := range i {
			must(t, c.CreateDestination(ctx, s.Key(), ipvs.Destination{
				Addr: netip.AddrFrom4([4]byte{172, 16, byte(i), byte(j)}), Port: 8080, Weight: uint32(j)}))
		}
		svcs = append([]ipvs.Service{s}, svcs...) // not the kernel's order
	}
	var got []int
	err := c.WalkDestinations(ctx, svcs, func(i int, dests []ipvs.Destination) error {
		got = append(got, i)
		want, err := c2Destinations(t, k, svcs[i].Key())
		if err != nil {
			return err
		}
		if len(dests) != len(want) {
			t.Errorf("service %d: %d destinations, want %d", i, len(dests), len(want))
		}
		for j := range min(len(dests), len(want)) {
			if dests[j].Addr != want[j].Addr || dests[j].Weight != want[j].Weight {
				t.Errorf("service %d destination %d: %v weight %d, want %v weight %d", i, j, dests[j].Addr, dests[j].Weight, want[j].Addr, want[j].Weight)
			}
		}
		return nil
	})
	must(t, err)
	if !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("walked %v", got)
	}

	stop := errors.New("stop")
	calls := 0
	err = c.WalkDestinations(ctx, svcs, func(i int, _ []ipvs.Destination) error {
		calls++
		if i == 1 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Errorf("fn's error: walk returned %v after %d calls, want %v after 2", err, calls, stop)
	}
	if got, err := c.Services(ctx); err != nil || len(got) != len(svcs) {
		t.Errorf("after fn's error: Services = %d services, %v", len(got), err)
	}
	func() {
		defer func() {
			if recover() != stop {
				t.Errorf("fn's panic did not come through the walk")
			}
		}()
		c.WalkDestinations(ctx, svcs, func(int, []ipvs.Destination) error { panic(stop) })
	}()
	if got, err := c.Services(ctx); err != nil || len(got) != len(svcs) {
		t.Errorf("after fn's panic: Services = %d services, %v", len(got), err)
	}

	// The third service's dump fails: the walk stops there.
	dumps := 0
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdGetDest {
			if dumps++; dumps == 3 {
				return ipvstest.Fail(unix.ENOMEM)
			}
		}
		return ipvstest.Fault{}
	})
	calls = 0
	err = c.WalkDestinations(ctx, svcs, func(int, []ipvs.Destination) error { calls++; return nil })
	if !errors.Is(err, unix.ENOMEM) || calls != 2 {
		t.Errorf("third dump failed: walk returned %v after %d calls, want ENOMEM after 2", err, calls)
	}

	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdGetDest {
			return ipvstest.Fail(unix.EPERM)
		}
		return ipvstest.Fault{}
	})
	calls = 0
	err = c.WalkDestinations(ctx, svcs, func(int, []ipvs.Destination) error { calls++; return nil })
	if !errors.Is(err, unix.EPERM) || calls != 0 {
		t.Errorf("failed dump: walk returned %v after %d calls, want EPERM after 0", err, calls)
	}
}

// c2Destinations lists k's destinations of key on a client of its own.
func c2Destinations(t *testing.T, k *ipvstest.Kernel, key ipvs.ServiceKey) ([]ipvs.Destination, error) {
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Destinations(context.Background(), key)
}
