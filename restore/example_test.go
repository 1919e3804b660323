package restore_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
)

// Make the kernel's table equal to a rules file, as goipvsadm -R --sync
// --atomic does.
func ExampleSyncPlan() {
	ctx := context.Background()
	c, err := ipvs.New(&ipvs.Config{Dial: ipvstest.New().Dial})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.CreateService(ctx, ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("192.0.2.9"), Port: 53})

	rules, err := restore.Parse(strings.NewReader(`
-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m
`), restore.Options{})
	if err != nil {
		panic(err) // a *restore.SyntaxError names the line
	}
	current, err := reconcile.Read(ctx, c)
	if err != nil {
		panic(err)
	}
	plan, err := restore.SyncPlan(rules, current)
	if err != nil {
		panic(err) // a *restore.PlanError names the line
	}
	for _, s := range plan.All() {
		fmt.Printf("line %d: %v\n", s.Line, s)
	}
	if err := plan.ApplyAtomic(ctx, c); err != nil {
		panic(err)
	}
	// Output:
	// line 2: -A -t 192.0.2.1:80 -s rr
	// line 3: -a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1
	// line 0: -D -u 192.0.2.9:53
}
