package ipvs_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
)

// TestZeroForwardMethodIsDirectRoute: the zero Destination forwards by
// direct routing, ipvsadm's default, and reads back equal.
func TestZeroForwardMethodIsDirectRoute(t *testing.T) {
	c, _ := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	must(t, c.CreateService(ctx, svc))
	want := map[netip.Addr]ipvs.ForwardMethod{
		netip.MustParseAddr("10.0.1.1"): ipvs.Masquerade,
		netip.MustParseAddr("10.0.1.2"): ipvs.Tunnel,
		netip.MustParseAddr("10.0.1.3"): ipvs.Local,
		netip.MustParseAddr("10.0.1.4"): ipvs.DirectRoute,
	}
	for a, m := range want {
		must(t, c.CreateDestination(ctx, svc.Key(), ipvs.Destination{Addr: a, Port: 80, ForwardMethod: m, Weight: 1}))
	}
	zero := ipvs.Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Weight: 1}
	must(t, c.CreateDestination(ctx, svc.Key(), zero))
	want[zero.Addr] = ipvs.DirectRoute
	got, err := c.Destinations(ctx, svc.Key())
	must(t, err)
	methods := map[netip.Addr]ipvs.ForwardMethod{}
	for _, d := range got {
		methods[d.Addr] = d.ForwardMethod
	}
	if diff := cmp.Diff(want, methods); diff != "" {
		t.Errorf("forwarding methods read back (-want +got):\n%s", diff)
	}
	if methods[zero.Addr].String() != "Route" {
		t.Errorf("the zero ForwardMethod reads back as %v, want Route (direct routing)", methods[zero.Addr])
	}
}

// TestModifyDestinationKeepsTheRest: a drain (weight 0) and its end change
// the weight only; forwarding method, thresholds and tunnel stay.
func TestModifyDestinationKeepsTheRest(t *testing.T) {
	c, _ := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wrr"}
	must(t, c.CreateService(ctx, svc))
	orig := ipvs.Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, ForwardMethod: ipvs.Tunnel,
		Weight: 5, UpperThreshold: 100, LowerThreshold: 10, TunnelType: ipvs.GUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelCsum}
	must(t, c.CreateDestination(ctx, svc.Key(), orig))

	must(t, c.ModifyDestination(ctx, svc.Key(), orig.Key(), func(d *ipvs.Destination) { d.Weight = 0 }))
	drained := orig
	drained.Weight = 0
	checkDests(t, c, svc.Key(), drained)

	must(t, c.ModifyDestination(ctx, svc.Key(), orig.Key(), func(d *ipvs.Destination) { d.Weight = 5 }))
	checkDests(t, c, svc.Key(), orig)
}

func checkDests(t *testing.T, c *ipvs.Client, k ipvs.ServiceKey, want ...ipvs.Destination) {
	t.Helper()
	got, err := c.Destinations(context.Background(), k)
	must(t, err)
	if diff := cmp.Diff(want, got, cmpFake); diff != "" {
		t.Errorf("destinations (-want +got):\n%s", diff)
	}
}

func TestModifyDestinationErrors(t *testing.T) {
	c, _ := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	dk := ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
	noop := func(*ipvs.Destination) {}
	if err := c.ModifyDestination(ctx, svc.Key(), dk, noop); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("missing service: %v", err)
	}
	must(t, c.CreateService(ctx, svc))
	if err := c.ModifyDestination(ctx, svc.Key(), dk, noop); !errors.Is(err, ipvs.ErrDestinationNotFound) {
		t.Errorf("missing destination: %v", err)
	}
	must(t, c.CreateDestination(ctx, svc.Key(), ipvs.Destination{Addr: dk.Addr, Port: dk.Port, Weight: 1}))
	err := c.ModifyDestination(ctx, svc.Key(), dk, func(d *ipvs.Destination) { d.Port = 81 })
	if !errors.Is(err, ipvs.ErrInvalid) {
		t.Errorf("an edit that moves the key: %v", err)
	}
	checkDests(t, c, svc.Key(), ipvs.Destination{Addr: dk.Addr, Port: dk.Port, Weight: 1})
}

// TestModifyServiceKeepsTheRest: changing the scheduler keeps persistence.
func TestModifyServiceKeepsTheRest(t *testing.T) {
	c, _ := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80,
		Scheduler: "wrr", Flags: ipvs.FlagPersistent, Timeout: 600, Netmask: ipvs.IPv4NetmaskBits(0xffffff00)}
	must(t, c.CreateService(ctx, svc))
	must(t, c.ModifyService(ctx, svc.Key(), func(s *ipvs.Service) { s.Scheduler = "rr" }))
	got, err := c.Service(ctx, svc.Key())
	must(t, err)
	svc.Scheduler = "rr"
	if diff := cmp.Diff(svc, got, cmpFake); diff != "" {
		t.Errorf("service after ModifyService (-want +got):\n%s", diff)
	}
	err = c.ModifyService(ctx, ipvs.ServiceKey{Protocol: ipvs.UDP, Addr: svc.Addr, Port: 80}, func(*ipvs.Service) {})
	if !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("ModifyService of a missing service: %v", err)
	}
}

// TestMappedAddressesRefused: an IPv4 address in IPv4-mapped IPv6 form, as
// a 16-byte net.IP converts, is refused the same way everywhere, instead
// of making an IPv6 service.
func TestMappedAddressesRefused(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	mapped, _ := netip.AddrFromSlice(net.ParseIP("10.0.0.9"))
	v4 := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	must(t, c.CreateService(ctx, v4))
	mk := ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: mapped, Port: 80}
	calls := map[string]error{
		"CreateService":     c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: mapped, Port: 80}),
		"UpdateService":     c.UpdateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: mapped, Port: 80}),
		"DeleteService":     c.DeleteService(ctx, mk),
		"Zero":              c.Zero(ctx, mk),
		"CreateDestination": c.CreateDestination(ctx, v4.Key(), ipvs.Destination{Addr: mapped, Port: 80, Weight: 1}),
		"UpdateDestination": c.UpdateDestination(ctx, v4.Key(), ipvs.Destination{Addr: mapped, Port: 80}),
		"StartDaemon":       c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Master, Interface: "eth0", Group: netip.MustParseAddr("::ffff:224.0.0.81")}),
	}
	_, calls["Service"] = c.Service(ctx, mk)
	_, calls["Destinations"] = c.Destinations(ctx, mk)
	for name, err := range calls {
		if !errors.Is(err, ipvs.ErrInvalid) {
			t.Errorf("%s with %v: %v, want ErrInvalid", name, mapped, err)
		}
	}
	if n := len(k.Services()); n != 1 {
		t.Errorf("kernel holds %d services, want 1", n)
	}
}

// TestPersistenceTimeoutNeedsFlag: a timeout without FlagPersistent would
// make a service that does not persist; it is refused.
func TestPersistenceTimeoutNeedsFlag(t *testing.T) {
	c, k := fakeClient(t)
	s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Timeout: 300}
	if err := c.CreateService(context.Background(), s); !errors.Is(err, ipvs.ErrInvalid) {
		t.Errorf("CreateService with Timeout and no FlagPersistent: %v, want ErrInvalid", err)
	}
	if n := len(k.Services()); n != 0 {
		t.Errorf("kernel holds %d services, want none", n)
	}
}

// TestSubSecondTimeoutsRefused: 500ms would reach the kernel as 0, which
// means "leave unchanged".
func TestSubSecondTimeoutsRefused(t *testing.T) {
	c, _ := fakeClient(t)
	ctx := context.Background()
	before, err := c.Timeouts(ctx)
	must(t, err)
	for _, to := range []ipvs.Timeouts{{TCP: 500 * time.Millisecond}, {UDP: 1500 * time.Millisecond}} {
		if err := c.SetTimeouts(ctx, to); !errors.Is(err, ipvs.ErrInvalid) {
			t.Errorf("SetTimeouts(%+v): %v, want ErrInvalid", to, err)
		}
	}
	after, err := c.Timeouts(ctx)
	must(t, err)
	if before != after {
		t.Errorf("timeouts changed from %+v to %+v", before, after)
	}
	must(t, c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 2 * time.Minute}))
}

// TestMappedAddressesWithIPv6Family: an IPv4-mapped address is an IPv6
// address when the caller says so (ipvsadm -A -t [::ffff:10.0.0.9]:80
// makes an IPv6 service): with Family IPv6 on the service, or under an
// IPv6 service for a destination, it is sent as it is and the kernel
// answers, as it answers ipvsadm.
func TestMappedAddressesWithIPv6Family(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	mapped := netip.MustParseAddr("::ffff:10.0.0.9")
	s := ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.TCP, Addr: mapped, Port: 80}
	must(t, c.CreateService(ctx, s))
	// The kernel refuses a mapped destination itself (not unicast), as
	// it does for ipvsadm: the request must reach it.
	d := ipvs.Destination{Addr: netip.MustParseAddr("::ffff:10.0.0.10"), Port: 80, Weight: 1}
	if err := c.CreateDestination(ctx, s.Key(), d); err == nil || strings.Contains(err.Error(), "IPv4-mapped") {
		t.Errorf("CreateDestination of %v under an IPv6 service: %v, want the kernel's refusal", d.Addr, err)
	}
	fwm := ipvs.ServiceKey{Family: ipvs.IPv6, FWMark: 1}
	if err := c.CreateDestination(ctx, fwm, d); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("CreateDestination under a missing IPv6 fwmark service: %v, want ErrServiceNotFound", err)
	}
	// A key, or a tunnel real server, may name another family than its
	// service's: the request goes out and the kernel answers.
	v4 := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	must(t, c.CreateService(ctx, v4))
	dk := ipvs.DestinationKey{Addr: netip.MustParseAddr("::ffff:10.0.0.10"), Port: 80}
	if err := c.DeleteDestination(ctx, v4.Key(), dk); !errors.Is(err, ipvs.ErrDestinationNotFound) {
		t.Errorf("DeleteDestination %v of an IPv4 service: %v, want ErrDestinationNotFound", dk.Addr, err)
	}
	tun := ipvs.Destination{Addr: dk.Addr, Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 1}
	if err := c.CreateDestination(ctx, ipvs.ServiceKey{FWMark: 92750}, tun); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("CreateDestination of tunnel %v under a missing fwmark service: %v, want ErrServiceNotFound", tun.Addr, err)
	}
	got, err := c.Service(ctx, s.Key())
	must(t, err)
	if got.Key() != s.Key() {
		t.Errorf("read back %v, want %v", got.Key(), s.Key())
	}
	if n := len(k.Services()); n != 2 {
		t.Errorf("kernel holds %d services, want 2", n)
	}
}

// TestFWMarkServiceWithoutProtocolAddressPort: a firewall-mark service has
// no protocol, address or port (the kernel neither takes nor reports them),
// so one given with them is refused rather than read back different; the
// mark alone reads back equal.
func TestFWMarkServiceWithoutProtocolAddressPort(t *testing.T) {
	ctx := context.Background()
	c, k := fakeClient(t)
	for _, s := range []ipvs.Service{
		{FWMark: 7, Protocol: ipvs.TCP},
		{FWMark: 7, Addr: netip.MustParseAddr("10.0.0.1")},
		{FWMark: 7, Port: 80},
	} {
		if err := c.CreateService(ctx, s); !errors.Is(err, ipvs.ErrInvalid) {
			t.Errorf("CreateService(%+v): %v, want ErrInvalid", s, err)
		}
		if err := c.UpdateService(ctx, s); !errors.Is(err, ipvs.ErrInvalid) {
			t.Errorf("UpdateService(%+v): %v, want ErrInvalid", s, err)
		}
	}
	if n := len(k.Services()); n != 0 {
		t.Fatalf("kernel holds %d services, want none", n)
	}
	s := ipvs.Service{Family: ipvs.IPv4, FWMark: 7, Scheduler: "rr"}
	if err := c.CreateService(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := c.Service(ctx, s.Key())
	if err != nil {
		t.Fatal(err)
	}
	got.Stats = ipvs.Stats{}
	if got != s {
		t.Errorf("read back %+v, wrote %+v", got, s)
	}
}
