package ipvstest_test

import (
	"context"
	"fmt"
	"net/netip"

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
