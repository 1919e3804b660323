package reconcile_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/goipvsadm/goipvsadm/reconcile"
)

// Reconcile the kernel's table with a desired one: the changes are
// computed from plain values, printed, and applied all or nothing.
func Example() {
	ctx := context.Background()
	// An in-memory kernel; ipvs.New(nil) talks to the real one.
	c, err := ipvs.New(&ipvs.Config{Dial: ipvstest.New().Dial})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	vip := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: "rr"}
	backend := func(ip string, weight uint32) ipvs.Destination {
		return ipvs.Destination{Addr: netip.MustParseAddr(ip), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: weight}
	}
	reconcileTo := func(desired reconcile.State) {
		current, err := reconcile.Read(ctx, c, ipvs.SkipStats)
		if err != nil {
			panic(err)
		}
		plan := reconcile.Diff(current, desired)
		fmt.Print(plan)
		if err := plan.ApplyAtomic(ctx, c); err != nil {
			panic(err) // the table is as it was, unless the error says otherwise
		}
		fmt.Println("--")
	}

	reconcileTo(reconcile.State{Services: []ipvs.ServiceEntry{
		{Service: vip, Destinations: []ipvs.Destination{backend("198.51.100.1", 1), backend("198.51.100.2", 1)}},
	}})
	// Drain .1, replace .2 by .3: .1 is updated in place, keeping its
	// connections.
	reconcileTo(reconcile.State{Services: []ipvs.ServiceEntry{
		{Service: vip, Destinations: []ipvs.Destination{backend("198.51.100.1", 0), backend("198.51.100.3", 1)}},
	}})
	reconcileTo(reconcile.State{})
	// Output:
	// -A -t 192.0.2.1:80 -s rr
	// -a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 1
	// -a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1
	// --
	// -a -t 192.0.2.1:80 -r 198.51.100.3:8080 -m -w 1
	// -e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 0
	// -d -t 192.0.2.1:80 -r 198.51.100.2:8080
	// --
	// -D -t 192.0.2.1:80
	// --
}
