package ipvstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

func Example() {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	if err := c.CreateService(ctx, svc); err != nil {
		panic(err)
	}
	dst := ipvs.Destination{Addr: netip.MustParseAddr("10.0.1.1"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1}
	if err := c.CreateDestination(ctx, svc.Key(), dst); err != nil {
		panic(err)
	}
	for _, e := range k.Services() {
		fmt.Println(e.Service.Key(), e.Service.Scheduler, len(e.Destinations))
	}
	// Output:
	// TCP 10.0.0.1:80 rr 1
}

// A caller's own test of how its code copes with a kernel that does not
// answer: the fault hook stalls every IPVS request, and the call ends at
// its context's deadline.
func ExampleKernel_InjectFault() {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() {
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = c.Services(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	k.InjectFault(nil) // the kernel answers again; so does the client
	svcs, err := c.Services(context.Background())
	fmt.Println(len(svcs), err)
	// Output:
	// true
	// 0 <nil>
}

// A fault for one service: every request about 10.0.0.2:80 fails with
// EIO, the others go through.
func ExampleRequest_ServiceKey() {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	broken := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if key, ok := r.ServiceKey(); ok && key == broken {
			return ipvstest.Fail(syscall.EIO)
		}
		return ipvstest.Fault{}
	})
	ctx := context.Background()
	for _, s := range []ipvs.Service{
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("2001:db8::2"), Port: 80},
		{FWMark: 7},
	} {
		fmt.Println(s.Key(), errors.Is(c.CreateService(ctx, s), syscall.EIO))
	}
	// Output:
	// TCP 10.0.0.1:80 false
	// TCP 10.0.0.2:80 true
	// TCP [2001:db8::2]:80 false
	// FWM 7 false
}
