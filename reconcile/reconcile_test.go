package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

var ctx = context.Background()

func newClient(t *testing.T) (*ipvs.Client, *ipvstest.Kernel) {
	t.Helper()
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

var (
	web = ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: "wrr",
		Flags: ipvs.FlagPersistent, Timeout: 300}
	dns = ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("192.0.2.2"), Port: 53, Scheduler: "rr"}
)

func real(last byte, weight uint32) ipvs.Destination {
	return ipvs.Destination{Addr: netip.AddrFrom4([4]byte{198, 51, 100, last}), Port: 8080,
		ForwardMethod: ipvs.Masquerade, Weight: weight}
}

// start is the table the tests begin with.
func start() reconcile.State {
	return reconcile.State{
		Services: []ipvs.ServiceEntry{
			{Service: web, Destinations: []ipvs.Destination{real(2, 1), real(1, 1)}},
			{Service: dns, Destinations: []ipvs.Destination{real(3, 1)}},
		},
		Timeouts: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second},
	}
}

// load puts s into the kernel, from empty.
func load(t *testing.T, c *ipvs.Client, s reconcile.State) {
	t.Helper()
	if err := reconcile.Diff(reconcile.State{}, s).Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// read is the kernel's table without counters, destinations sorted (an
// undone deletion re-creates a destination as the newest).
func read(t *testing.T, c *ipvs.Client) reconcile.State {
	t.Helper()
	s, err := reconcile.Read(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Services {
		s.Services[i].Service.Stats = ipvs.Stats{}
		slices.SortFunc(s.Services[i].Destinations, func(a, b ipvs.Destination) int { return a.Addr.Compare(b.Addr) })
	}
	return s
}

var cmpValues = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}, ipvs.Netmask{}),
	cmpopts.IgnoreFields(ipvs.Destination{}, "Stats", "ActiveConns", "InactiveConns", "PersistentConns"),
}

// failNth makes the kernel refuse the nth (from 1) change it receives.
func failNth(k *ipvstest.Kernel, n int) {
	seen := 0
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && !r.IsRead() {
			if seen++; seen == n {
				return ipvstest.Fail(unix.ENOMEM)
			}
		}
		return ipvstest.Fault{}
	})
}

func TestDiff(t *testing.T) {
	want := start()
	want.Services[0].Service.Scheduler = "rr"                                  // edited in place
	want.Services[0].Destinations = []ipvs.Destination{real(4, 1), real(1, 0)} // one drained, one swapped
	want.Services = want.Services[:1]                                          // dns deleted
	want.Timeouts = ipvs.Timeouts{UDP: 60 * time.Second}
	got := reconcile.Diff(start(), want).String()
	wantPlan := `-E -t 192.0.2.1:80 -s rr -p 300
-a -t 192.0.2.1:80 -r 198.51.100.4:8080 -m -w 1
-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 0
-d -t 192.0.2.1:80 -r 198.51.100.2:8080
-D -u 192.0.2.2:53
--set 0 0 60
`
	if diff := cmp.Diff(wantPlan, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if p := reconcile.Diff(want, want); p.Len() != 0 {
		t.Errorf("no change plans %v", p)
	}
}

// A service or destination listed twice counts once, as its last listing.
func TestDuplicatesCountOnce(t *testing.T) {
	c, _ := newClient(t)
	desired := reconcile.State{Services: []ipvs.ServiceEntry{
		{Service: web, Destinations: []ipvs.Destination{real(1, 1)}},
		{Service: dns, Destinations: []ipvs.Destination{real(2, 1), real(3, 1), real(2, 5)}},
		{Service: web, Destinations: []ipvs.Destination{real(4, 1)}},
	}}
	plan := reconcile.Diff(reconcile.State{}, desired)
	if err := plan.ApplyAtomic(ctx, c); err != nil {
		t.Fatalf("%v\n%v", err, plan)
	}
	want := reconcile.State{Services: []ipvs.ServiceEntry{
		{Service: dns, Destinations: []ipvs.Destination{real(3, 1), real(2, 5)}},
		{Service: web, Destinations: []ipvs.Destination{real(4, 1)}},
	}}
	if p := reconcile.Diff(read(t, c), want); p.Len() != 0 {
		t.Errorf("not the last listings; still to do:\n%v", p)
	}
}

// A printed plan is exact: every attribute the kernel keeps is written, and
// reading the lines back gives the plan's changes.
func TestPlanPrintsEverything(t *testing.T) {
	tunnel := ipvs.Destination{Addr: netip.MustParseAddr("2001:db8::7"), Port: 8080, ForwardMethod: ipvs.Tunnel, Weight: 2,
		UpperThreshold: 100, LowerThreshold: 10, TunnelType: ipvs.GUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelRemCsum}
	mark := ipvs.Service{FWMark: 3000000000, Scheduler: "sh", Flags: ipvs.FlagSched3 | ipvs.FlagSched1,
		Netmask: ipvs.IPv4NetmaskBits(0xffffff00)}
	plan := reconcile.Diff(reconcile.State{}, reconcile.State{
		Services: []ipvs.ServiceEntry{{Service: mark, Destinations: []ipvs.Destination{tunnel, real(1, 1)}}},
		Timeouts: ipvs.Timeouts{UDP: time.Minute},
	})
	want := `-A -f 3000000000 -s sh -M 255.255.255.0 -b sh-fallback,flag-3
-a -f 3000000000 -r 198.51.100.1:8080 -m -w 1
-a -f 3000000000 -r [2001:db8::7]:8080 -i -w 2 -x 100 -y 10 --tun-type gue --tun-port 6080 --tun-remcsum
--set 0 0 60
`
	if diff := cmp.Diff(want, plan.String()); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	rules, err := restore.Parse(strings.NewReader(plan.String()), restore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantMark := mark
	wantMark.Family = ipvs.IPv4
	for i, r := range rules {
		if got, want := fmt.Sprint(reconcile.Step{Op: r.Op}), fmt.Sprint(plan.Step(i)); got != want {
			t.Errorf("line %d reads back as %s", i+1, got)
		}
		if r.Op.Kind == ipvs.OpCreateService && !cmp.Equal(r.Op.Service, wantMark, cmpValues) {
			t.Errorf("service reads back as %+v", r.Op.Service)
		}
	}
}

// A plan from Diff goes all or nothing: with a fault at any step, the
// table is as before; without, it is the desired one.
func TestDiffPlanAppliesAtomically(t *testing.T) {
	want := start()
	want.Services[0].Destinations = []ipvs.Destination{real(5, 2), real(1, 3)}
	want.Services[1].Service.Scheduler = "lc"
	want.Services = append(want.Services, ipvs.ServiceEntry{Service: ipvs.Service{FWMark: 7, Scheduler: "sh"},
		Destinations: []ipvs.Destination{real(9, 1)}})
	want.Timeouts.TCP = time.Hour
	n := reconcile.Diff(start(), want).Len()
	for fail := 1; fail <= n; fail++ {
		c, k := newClient(t)
		load(t, c, start())
		before := read(t, c)
		plan := reconcile.Diff(read(t, c), want)
		failNth(k, fail)
		err := plan.ApplyAtomic(ctx, c)
		k.InjectFault(nil)
		var ae *reconcile.AtomicError
		if !errors.As(err, &ae) || ae.Rollback != nil || !errors.Is(err, unix.ENOMEM) {
			t.Fatalf("fault at change %d: %v", fail, err)
		}
		if ae.Step != plan.Step(fail-1) {
			t.Errorf("fault at change %d: error names %v", fail, ae.Step)
		}
		if diff := cmp.Diff(before, read(t, c), cmpValues); diff != "" {
			t.Fatalf("fault at change %d: table not restored (-before +after):\n%s", fail, diff)
		}
	}
	c, _ := newClient(t)
	load(t, c, start())
	if err := reconcile.Diff(read(t, c), want).ApplyAtomic(ctx, c); err != nil {
		t.Fatal(err)
	}
	if p := reconcile.Diff(read(t, c), want); p.Len() != 0 {
		t.Errorf("after the plan, still to do:\n%v", p)
	}
}

// A plan built by hand, without the table it is for, is checked against
// and undone to the kernel's table. (It used to panic in the rollback,
// leaving the first step applied.)
func TestHandBuiltPlanRollsBack(t *testing.T) {
	c, k := newClient(t)
	load(t, c, start())
	before := read(t, c)
	plan := planOf([]reconcile.Step{
		{Op: ipvs.CreateService(ipvs.Service{Protocol: ipvs.TCP, Addr: web.Addr, Port: 443})},
		{Op: ipvs.UpdateDestination(web.Key(), real(1, 7))},
		{Op: ipvs.DeleteService(dns.Key())},
		{Op: ipvs.SetTimeouts(ipvs.Timeouts{TCPFin: time.Second})},
	})
	for fail := 1; fail <= plan.Len(); fail++ {
		failNth(k, fail)
		err := plan.ApplyAtomic(ctx, c)
		k.InjectFault(nil)
		var ae *reconcile.AtomicError
		if !errors.As(err, &ae) || ae.Rollback != nil {
			t.Fatalf("fault at change %d: %v", fail, err)
		}
		if diff := cmp.Diff(before, read(t, c), cmpValues); diff != "" {
			t.Fatalf("fault at change %d: table not restored (-before +after):\n%s", fail, diff)
		}
	}
}

// A step that cannot apply is refused before anything is sent, and the
// error names the object.
func TestPlanChecksBeforeSending(t *testing.T) {
	c, k := newClient(t)
	load(t, c, start())
	plan := planOf([]reconcile.Step{
		{Op: ipvs.DeleteDestination(dns.Key(), real(3, 0).Key())},
		{Op: ipvs.CreateDestination(web.Key(), real(1, 1))},
	})
	sent := k.Requests()
	err := plan.ApplyAtomic(ctx, c)
	var se *reconcile.StepError
	if !errors.As(err, &se) || se.Step != plan.Step(1) || !errors.Is(err, ipvs.ErrDestinationExists) || !errors.Is(err, unix.EEXIST) {
		t.Fatalf("ApplyAtomic: %v", err)
	}
	if want := "create destination TCP 192.0.2.1:80 -> 198.51.100.1:8080: destination already exists"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// Reads only: the table and the timeouts.
	if n := k.Requests() - sent; n > 4 {
		t.Errorf("%d requests for a refused plan", n)
	}
	err = reconcile.NewPlan(start(), stepsOf(plan)).ApplyAtomic(ctx, c)
	if !errors.As(err, &se) || se.Step != plan.Step(1) {
		t.Errorf("NewPlan: %v", err)
	}
}

// The zero plan and a nil one change nothing and send nothing.
func TestZeroPlan(t *testing.T) {
	c, k := newClient(t)
	sent := k.Requests()
	var zero reconcile.Plan
	var none *reconcile.Plan
	for _, p := range []*reconcile.Plan{&zero, none} {
		if err := p.ApplyAtomic(ctx, c); err != nil {
			t.Error(err)
		}
		if err := p.Apply(ctx, c); err != nil {
			t.Error(err)
		}
		if s := p.String(); s != "" {
			t.Errorf("String() = %q", s)
		}
	}
	if n := k.Requests() - sent; n != 0 {
		t.Errorf("%d requests", n)
	}
}

// A plan for a table without timeouts still undoes the timeouts it set.
func TestUnknownTimeoutsAreUndone(t *testing.T) {
	steps := []reconcile.Step{
		{Op: ipvs.SetTimeouts(ipvs.Timeouts{TCP: time.Minute, UDP: time.Minute})},
		{Op: ipvs.CreateService(ipvs.Service{FWMark: 1})},
	}
	t.Run("steps", func(t *testing.T) {
		testUnknownTimeoutsAreUndone(t, func(current reconcile.State) *reconcile.Plan {
			return reconcile.NewPlan(current, steps)
		})
	})
	t.Run("source", func(t *testing.T) {
		testUnknownTimeoutsAreUndone(t, func(current reconcile.State) *reconcile.Plan {
			return reconcile.NewPlanFrom(current, sliceSource(steps))
		})
	})
}

// sliceSource is a StepSource of steps kept in a slice.
type sliceSource []reconcile.Step

func (s sliceSource) Len() int                  { return len(s) }
func (s sliceSource) Step(i int) reconcile.Step { return s[i] }

func testUnknownTimeoutsAreUndone(t *testing.T, newPlan func(reconcile.State) *reconcile.Plan) {
	c, k := newClient(t)
	load(t, c, start())
	before := read(t, c)
	current := read(t, c)
	current.Timeouts = ipvs.Timeouts{}
	plan := newPlan(current)
	failNth(k, 2)
	err := plan.ApplyAtomic(ctx, c)
	k.InjectFault(nil)
	var ae *reconcile.AtomicError
	if !errors.As(err, &ae) || ae.Rollback != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, read(t, c), cmpValues); diff != "" {
		t.Fatalf("table not restored (-before +after):\n%s", diff)
	}
}

// Apply goes on after a failure and names each failed object.
func TestApplyBestEffort(t *testing.T) {
	c, _ := newClient(t)
	load(t, c, start())
	plan := planOf([]reconcile.Step{
		{Op: ipvs.CreateService(web)},
		{Op: ipvs.CreateDestination(dns.Key(), real(8, 1))},
		{Op: ipvs.DeleteDestination(dns.Key(), real(7, 1).Key())},
		{Op: ipvs.DeleteService(web.Key())},
	})
	err := plan.Apply(ctx, c)
	var ae *reconcile.ApplyError
	if !errors.As(err, &ae) || len(ae.Failed) != 2 {
		t.Fatalf("Apply: %v", err)
	}
	if ae.Failed[0].Step != plan.Step(0) || !errors.Is(ae.Failed[0], ipvs.ErrServiceExists) ||
		ae.Failed[1].Step != plan.Step(2) || !errors.Is(ae.Failed[1], ipvs.ErrDestinationNotFound) {
		t.Errorf("failures: %v", ae.Failed)
	}
	for _, obj := range []string{"TCP 192.0.2.1:80", "UDP 192.0.2.2:53 -> 198.51.100.7:8080"} {
		if !strings.Contains(err.Error(), obj) && !strings.Contains(ae.Failed[1].Error(), obj) {
			t.Errorf("%q does not name %s", err, obj)
		}
	}
	s := read(t, c)
	if len(s.Services) != 1 || len(s.Services[0].Destinations) != 2 {
		t.Errorf("the other changes were not made: %+v", s.Services)
	}
}

// TestApplyLargePlan: a plan of several of the Client's batches, built
// one after the other or each beside the applying of the one before,
// makes the same changes and names the same failures, in order.
func TestApplyLargePlan(t *testing.T) {
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("ahead=%v", ahead), func(t *testing.T) {
			defer reconcile.SetBuildAhead(ahead)()
			c, k := newClient(t)
			var steps []reconcile.Step
			var wantFailed []int
			for i := range 1200 {
				svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), Port: 80}
				steps = append(steps, reconcile.Step{Op: ipvs.CreateService(svc), Line: len(steps) + 1})
				for j := range 8 {
					d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{172, 20, byte(j), 1}), Port: 80, Weight: 1}
					if i%500 == 7 && j == 7 {
						d.Addr = netip.AddrFrom4([4]byte{172, 20, 0, 1}) // twice: fails
						wantFailed = append(wantFailed, len(steps))
					}
					steps = append(steps, reconcile.Step{Op: ipvs.CreateDestination(svc.Key(), d), Line: len(steps) + 1})
				}
			}
			plan := planOf(steps)
			err := plan.Apply(ctx, c)
			var ae *reconcile.ApplyError
			if !errors.As(err, &ae) || len(ae.Failed) != len(wantFailed) {
				t.Fatalf("Apply: %v", err)
			}
			for n, f := range ae.Failed {
				if f.Step != steps[wantFailed[n]] || !errors.Is(f, ipvs.ErrDestinationExists) {
					t.Errorf("failure %d: %v, want step %d", n, f, wantFailed[n])
				}
			}
			dests := 0
			for _, e := range read(t, c).Services {
				dests += len(e.Destinations)
			}
			if n := len(k.Services()); n != 1200 || dests != 1200*8-len(wantFailed) {
				t.Errorf("%d services, %d destinations", n, dests)
			}
		})
	}
}

// planOf is a plan built by hand, without the table it is for.
func planOf(steps []reconcile.Step) *reconcile.Plan {
	p := new(reconcile.Plan)
	p.Append(steps...)
	return p
}

// stepsOf returns a plan's steps.
func stepsOf(p *reconcile.Plan) []reconcile.Step {
	var steps []reconcile.Step
	for _, s := range p.All() {
		steps = append(steps, s)
	}
	return steps
}
