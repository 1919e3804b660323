package ipvs_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/mdlayher/netlink"
)

func svcN(i int) ipvs.Service {
	return ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)}), Port: 80, Scheduler: "rr"}
}

// TestApplyResultsMatchSingleOps: every result of a batch is what the
// single-op method returns for the same op on the same state, and the
// batch goes on after failures.
func TestApplyResultsMatchSingleOps(t *testing.T) {
	ops := []ipvs.Op{
		ipvs.CreateService(svcN(1)),
		ipvs.CreateService(svcN(1)), // exists
		ipvs.CreateService(ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.4.9.9"), Port: 1, Scheduler: "nosuch"}),
		ipvs.CreateDestination(svcN(1).Key(), ipvs.Destination{Addr: netip.MustParseAddr("10.5.0.1"), Port: 80, Weight: 1}),
		ipvs.CreateDestination(svcN(2).Key(), ipvs.Destination{Addr: netip.MustParseAddr("10.5.0.1"), Port: 80, Weight: 1}), // no service
		ipvs.UpdateDestination(svcN(1).Key(), ipvs.Destination{Addr: netip.MustParseAddr("10.5.0.1"), Port: 80, LowerThreshold: 3}),
		ipvs.CreateService(ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.4.9.9")}), // invalid: port 0
		ipvs.DeleteDestination(svcN(1).Key(), ipvs.DestinationKey{Addr: netip.MustParseAddr("10.5.0.2"), Port: 80}),
		ipvs.UpdateService(svcN(1)),
		ipvs.DeleteService(svcN(3).Key()),
	}
	batch, k1 := fakeClient(t)
	got, err := batch.Apply(context.Background(), ops)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	single, k2 := fakeClient(t)
	single1 := map[ipvs.OpKind]func(o ipvs.Op) error{
		ipvs.OpCreateService: func(o ipvs.Op) error { return single.CreateService(context.Background(), o.Service) },
		ipvs.OpUpdateService: func(o ipvs.Op) error { return single.UpdateService(context.Background(), o.Service) },
		ipvs.OpDeleteService: func(o ipvs.Op) error { return single.DeleteService(context.Background(), o.Service.Key()) },
		ipvs.OpCreateDestination: func(o ipvs.Op) error {
			return single.CreateDestination(context.Background(), o.Service.Key(), o.Destination)
		},
		ipvs.OpUpdateDestination: func(o ipvs.Op) error {
			return single.UpdateDestination(context.Background(), o.Service.Key(), o.Destination)
		},
		ipvs.OpDeleteDestination: func(o ipvs.Op) error {
			return single.DeleteDestination(context.Background(), o.Service.Key(), o.Destination.Key())
		},
	}
	for i, o := range ops {
		want := single1[o.Kind](o)
		if (want == nil) != (got[i] == nil) || (want != nil && want.Error() != got[i].Error()) {
			t.Errorf("op %d (%v): batch %v, single %v", i, o.Kind, got[i], want)
		}
	}
	if !errors.Is(got[1], ipvs.ErrServiceExists) || !errors.Is(got[4], ipvs.ErrServiceNotFound) || !errors.Is(got[6], ipvs.ErrInvalid) {
		t.Errorf("sentinels: %v / %v / %v", got[1], got[4], got[6])
	}
	if len(k1.Services()) != len(k2.Services()) {
		t.Errorf("batch left %d services, single ops %d", len(k1.Services()), len(k2.Services()))
	}
}

// TestApplyInChainOrder: Apply sends ops on different services in the
// order of the kernel's hash chains; every result, and the table after
// (down to the order the kernel lists it in), is what the ops one by one
// in their order give.
func TestApplyInChainOrder(t *testing.T) {
	ctx := context.Background()
	for seed := range 16 {
		ops := ipvs.RandomOps(rand.New(rand.NewPCG(uint64(seed), 7)), 600)
		batch, k1 := fakeClient(t, ipvstest.HashSeed(uint8(seed*37)))
		got, err := batch.Apply(ctx, ops)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		single, k2 := fakeClient(t, ipvstest.HashSeed(uint8(seed*37)))
		failed := 0
		for i, o := range ops {
			want := applyOne(ctx, single, o)
			if (want == nil) != (got[i] == nil) || (want != nil && want.Error() != got[i].Error()) {
				t.Fatalf("seed %d, op %d (%v): batch %v, single %v", seed, i, o.Kind, got[i], want)
			}
			if want != nil {
				failed++
			}
		}
		if failed == 0 || failed == len(ops) {
			t.Fatalf("seed %d: %d of %d ops failed: the ops do not test much", seed, failed, len(ops))
		}
		if s1, s2 := k1.Services(), k2.Services(); !reflect.DeepEqual(s1, s2) {
			t.Fatalf("seed %d: the tables differ:\nbatch  %v\nsingle %v", seed, s1, s2)
		}
		t1, _ := batch.Timeouts(ctx)
		t2, _ := single.Timeouts(ctx)
		if t1 != t2 {
			t.Fatalf("seed %d: timeouts %v, one by one %v", seed, t1, t2)
		}
	}
}

// applyOne applies o with the single-op method of its kind.
func applyOne(ctx context.Context, c *ipvs.Client, o ipvs.Op) error {
	switch o.Kind {
	case ipvs.OpCreateService:
		return c.CreateService(ctx, o.Service)
	case ipvs.OpUpdateService:
		return c.UpdateService(ctx, o.Service)
	case ipvs.OpDeleteService:
		return c.DeleteService(ctx, o.Service.Key())
	case ipvs.OpCreateDestination:
		return c.CreateDestination(ctx, o.Service.Key(), o.Destination)
	case ipvs.OpUpdateDestination:
		return c.UpdateDestination(ctx, o.Service.Key(), o.Destination)
	case ipvs.OpDeleteDestination:
		return c.DeleteDestination(ctx, o.Service.Key(), o.Destination.Key())
	}
	return c.SetTimeouts(ctx, o.Timeouts)
}

// TestApplyLarge sends many windows and uses far fewer system calls
// than requests.
func TestApplyLarge(t *testing.T) {
	ipvs.BothWays(t, ipvs.SetApplyAhead, testApplyLarge)
}

func testApplyLarge(t *testing.T) {
	c, k := fakeClient(t)
	var ops []ipvs.Op
	for i := 0; i < 3000; i++ {
		ops = append(ops, ipvs.CreateService(svcN(i)))
		ops = append(ops, ipvs.CreateDestination(svcN(i).Key(), ipvs.Destination{Addr: netip.MustParseAddr("10.5.0.1"), Port: 80, Weight: 1, ForwardMethod: ipvs.Masquerade}))
	}
	results, err := c.Apply(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Fatalf("op %d: %v", i, r)
		}
	}
	if n := len(k.Services()); n != 3000 {
		t.Errorf("%d services", n)
	}
}

// TestApplyWindowFitsBuffer: the window follows the socket's receive
// buffer, so a small buffer costs more system calls, never lost answers.
func TestApplyWindowFitsBuffer(t *testing.T) {
	ipvs.BothWays(t, ipvs.SetApplyAhead, testApplyWindowFitsBuffer)
}

func testApplyWindowFitsBuffer(t *testing.T) {
	c, _ := fakeClient(t, ipvstest.ReceiveBuffer(16<<10))
	var ops []ipvs.Op
	for i := 0; i < 600; i++ {
		ops = append(ops, ipvs.CreateService(svcN(i)))
	}
	results, err := c.Apply(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Fatalf("op %d: %v", i, r)
		}
	}
}

// TestApplyENOBUFS: with a receive buffer too small for the answers (here
// 600 refusals, each echoing its request), answers that were dropped are
// reported as ErrAckLost, the others as what they were, the batch goes on
// with smaller windows, and the client stays usable.
func TestApplyENOBUFS(t *testing.T) {
	ipvs.BothWays(t, ipvs.SetApplyAhead, testApplyENOBUFS)
}

func testApplyENOBUFS(t *testing.T) {
	c, k := fakeClient(t, ipvstest.ReceiveBuffer(2048))
	var ops []ipvs.Op
	for i := 0; i < 600; i++ {
		ops = append(ops, ipvs.CreateService(svcN(i)))
	}
	if results, err := c.Apply(context.Background(), ops); err != nil || results[599] != nil {
		t.Fatalf("first Apply: %v", err)
	}
	results, err := c.Apply(context.Background(), ops) // every one exists: 600 errors
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	lost, exists := 0, 0
	for i, r := range results {
		switch {
		case errors.Is(r, ipvs.ErrAckLost):
			lost++
		case errors.Is(r, ipvs.ErrServiceExists):
			exists++
		default:
			t.Errorf("op %d: %v", i, r)
		}
	}
	if lost == 0 || exists == 0 {
		t.Errorf("%d lost, %d reported: a 2 KiB buffer should drop some answers and deliver others", lost, exists)
	}
	if n := len(k.Services()); n != 600 {
		t.Errorf("kernel has %d services", n)
	}
	if _, err := c.Info(context.Background()); err != nil {
		t.Errorf("client unusable after ENOBUFS: %v", err)
	}
}

// TestApplyCancelledWhileWaiting: the ops of a window that was sent when
// ctx ended were carried out, or may have been: their results match
// ErrAckLost as well as the context's error, and the ops never sent only
// the latter.
func TestApplyCancelledWhileWaiting(t *testing.T) {
	c, k := fakeClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Flags&netlink.Acknowledge != 0 {
			// The window's last request, the one answered: no answer
			// comes, and the caller gives up.
			cancel()
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	ops := make([]ipvs.Op, 3)
	for i := range ops {
		ops[i] = ipvs.CreateService(svcN(i))
	}
	results, err := c.Apply(ctx, ops)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply: %v, want Canceled", err)
	}
	for i, r := range results {
		if !errors.Is(r, ipvs.ErrAckLost) || !errors.Is(r, context.Canceled) {
			t.Errorf("op %d: %v, want ErrAckLost and Canceled", i, r)
		}
	}
	k.InjectFault(nil)
	if got, err := c.Services(context.Background()); err != nil || len(got) != 2 {
		t.Errorf("after the cancelled Apply: %d services, %v; want the 2 carried out", len(got), err)
	}
	cancel()
	if results, _ := c.Apply(ctx, ops[:1]); errors.Is(results[0], ipvs.ErrAckLost) {
		t.Errorf("op never sent: %v, want only Canceled", results[0])
	}
}
