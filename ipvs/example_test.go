package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"golang.org/x/sys/unix"
)

// exampleClient is a Client of an in-memory kernel; in production
// ipvs.NewContext(ctx, nil) talks to the real one.
func exampleClient() (*ipvs.Client, *ipvstest.Kernel) {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		panic(err)
	}
	return c, k
}

// A virtual service with two real servers behind NAT.
func ExampleClient_CreateDestination() {
	c, _ := exampleClient()
	defer c.Close()
	ctx := context.Background()

	vip := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: "wrr"}
	if err := c.CreateService(ctx, vip); err != nil {
		fmt.Println(err)
		return
	}
	for i, rs := range []string{"198.51.100.10", "198.51.100.11"} {
		d := ipvs.Destination{Addr: netip.MustParseAddr(rs), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: uint32(i + 1)}
		if err := c.CreateDestination(ctx, vip.Key(), d); err != nil {
			fmt.Println(err)
			return
		}
	}
	dests, err := c.Destinations(ctx, vip.Key())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range dests {
		fmt.Println(d.Key(), d.ForwardMethod, d.Weight)
	}
	// Output:
	// 198.51.100.11:8080 Masq 2
	// 198.51.100.10:8080 Masq 1
}

// Many changes in few system calls; each op has its own result.
func ExampleClient_Apply() {
	c, _ := exampleClient()
	defer c.Close()
	ctx := context.Background()

	vip := ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("192.0.2.53"), Port: 53, Scheduler: "rr"}
	ops := []ipvs.Op{
		ipvs.CreateService(vip),
		ipvs.CreateDestination(vip.Key(), ipvs.Destination{Addr: netip.MustParseAddr("192.0.2.101"), Port: 53, Weight: 1}),
		ipvs.CreateDestination(vip.Key(), ipvs.Destination{Addr: netip.MustParseAddr("192.0.2.102"), Port: 53, Weight: 1}),
		ipvs.CreateService(vip), // fails: it exists by now
	}
	results, err := c.Apply(ctx, ops)
	if err != nil {
		fmt.Println("batch stopped:", err)
	}
	for i, r := range results {
		fmt.Printf("%s: %v\n", ops[i].Kind, r)
	}
	// Output:
	// create service: <nil>
	// create destination: <nil>
	// create destination: <nil>
	// create service: ipvs: create service UDP 192.0.2.53:53: service already exists (EEXIST)
}

// The whole table in one call, for listing or reconciling.
func ExampleClient_Snapshot() {
	c, _ := exampleClient()
	defer c.Close()
	ctx := context.Background()

	web := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 443,
		Scheduler: "sh", Flags: ipvs.FlagPersistent, Timeout: 300}
	mark := ipvs.Service{FWMark: 7, Scheduler: "rr"}
	_, err := c.Apply(ctx, []ipvs.Op{
		ipvs.CreateService(web),
		ipvs.CreateDestination(web.Key(), ipvs.Destination{Addr: netip.MustParseAddr("192.0.2.10"), Port: 443, Weight: 1}),
		ipvs.CreateService(mark),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	entries, err := c.Snapshot(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		fmt.Println(e.Service.Key(), e.Service.Scheduler, len(e.Destinations), "destination(s)")
		for _, d := range e.Destinations {
			fmt.Println("  ->", d.Key(), d.ForwardMethod, d.Weight)
		}
	}
	// Unordered output:
	// TCP 192.0.2.1:443 sh 1 destination(s)
	//   -> 192.0.2.10:443 Route 1
	// FWM 7 rr 0 destination(s)
}

// A big table without holding it: count the real servers that take no
// new connections, a page of services at a time.
func ExampleClient_Walk() {
	c, _ := exampleClient()
	defer c.Close()
	ctx := context.Background()

	var ops []ipvs.Op
	for i := range 1000 {
		vip := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), Port: 80 + uint16(i/256)}
		ops = append(ops, ipvs.CreateService(vip))
		for j := range 3 {
			d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(j)}), Port: 8080, Weight: uint32(i % 2 * j)}
			ops = append(ops, ipvs.CreateDestination(vip.Key(), d))
		}
	}
	if _, err := c.Apply(ctx, ops); err != nil {
		fmt.Println(err)
		return
	}
	services, drained := 0, 0
	err := c.Walk(ctx, func(_ *ipvs.Service, dests []ipvs.Destination) error {
		services++
		for _, d := range dests { // valid during the call only
			if d.Weight == 0 {
				drained++
			}
		}
		return nil
	}, ipvs.SkipStats) // no counters needed: they are not decoded
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(services, "services,", drained, "real servers drained")
	// Output: 1000 services, 2000 real servers drained
}

// A drain: weight 0, every other setting kept; then back in service.
func ExampleClient_ModifyDestination() {
	c, _ := exampleClient()
	defer c.Close()
	ctx := context.Background()

	vip := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}
	rs := ipvs.Destination{Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Weight: 3, UpperThreshold: 1000}
	if err := c.CreateService(ctx, vip); err != nil {
		fmt.Println(err)
		return
	}
	if err := c.CreateDestination(ctx, vip.Key(), rs); err != nil {
		fmt.Println(err)
		return
	}
	show := func() {
		dests, _ := c.Destinations(ctx, vip.Key())
		fmt.Println(dests[0].ForwardMethod, dests[0].Weight, dests[0].UpperThreshold)
	}
	c.ModifyDestination(ctx, vip.Key(), rs.Key(), func(d *ipvs.Destination) { d.Weight = 0 })
	show()
	c.ModifyDestination(ctx, vip.Key(), rs.Key(), func(d *ipvs.Destination) { d.Weight = 3 })
	show()
	// Output:
	// Route 0 1000
	// Route 3 1000
}

// Errors match this package's sentinels, the kernel's errno and the io/fs
// sentinel of their kind.
func ExampleOpError() {
	c, _ := exampleClient()
	defer c.Close()
	ctx := context.Background()

	k := ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}
	err := c.DeleteService(ctx, k)
	fmt.Println(err)
	fmt.Println(errors.Is(err, ipvs.ErrServiceNotFound), errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ESRCH))
	var oe *ipvs.OpError
	if errors.As(err, &oe) {
		fmt.Printf("op %q, object %q\n", oe.Op, oe.Object)
	}

	c.Close()
	_, err = c.Services(ctx)
	fmt.Println(errors.Is(err, ipvs.ErrClosed))
	// Output:
	// ipvs: delete service TCP 192.0.2.1:80: no such service (ESRCH)
	// true true true
	// op "delete service", object "TCP 192.0.2.1:80"
	// true
}

// A Client for another network namespace, opened with a bound on how long
// that may take (a kernel that never answers makes New wait for ever).
func ExampleNewContext() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ipvs.NewContext(ctx, &ipvs.Config{NetNSPath: "/run/netns/blue"})
	switch {
	case errors.Is(err, ipvs.ErrUnavailable):
		fmt.Println("no IPVS in that namespace's kernel")
		return
	case errors.Is(err, ipvs.ErrPermission):
		fmt.Println("CAP_NET_ADMIN is needed")
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	defer c.Close()
	svcs, err := c.Services(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(svcs), "services in namespace blue")
}
