//go:build e2e

package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// step is one call of a differential sequence; it returns what can be
// compared between two kernels.
type step struct {
	name string
	do   func(ctx context.Context, c *ipvs.Client) string
}

// outcome renders an error as the errno the kernel (or the client's
// validation) gave, which must agree between kernels.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return "error: " + err.Error()
}

func op(name string, fn func(ctx context.Context, c *ipvs.Client) error) step {
	return step{name, func(ctx context.Context, c *ipvs.Client) string { return outcome(fn(ctx, c)) }}
}

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

var (
	dsvc4 = ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.0.0.1"), Port: 80, Scheduler: "rr"}
	dsvc6 = ipvs.Service{Protocol: ipvs.UDP, Addr: a("2001:db8::1"), Port: 53, Scheduler: "sh", Flags: ipvs.FlagPersistent | ipvs.FlagSched2, Timeout: 100, Netmask: ipvs.IPv6Prefix(64)}
	dfwm  = ipvs.Service{FWMark: 42, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 300, Netmask: ipvs.IPv4NetmaskBits(0xffffff00), PEName: "sip"}
)

// differentialSteps exercise every command with successes and the
// kernel's refusals.
var differentialSteps = []step{
	op("create v4", func(ctx context.Context, c *ipvs.Client) error { return c.CreateService(ctx, dsvc4) }),
	op("create v4 again", func(ctx context.Context, c *ipvs.Client) error { return c.CreateService(ctx, dsvc4) }),
	op("create v6", func(ctx context.Context, c *ipvs.Client) error { return c.CreateService(ctx, dsvc6) }),
	op("create fwmark", func(ctx context.Context, c *ipvs.Client) error { return c.CreateService(ctx, dfwm) }),
	op("unknown scheduler", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.0.0.2"), Port: 1, Scheduler: "nosuch"})
	}),
	op("unknown pe", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.0.0.2"), Port: 2, Scheduler: "rr", PEName: "nope"})
	}),
	op("pe name at the kernel's limit", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.0.0.2"), Port: 4, Scheduler: "rr", PEName: "1234567890123456"})
	}),
	op("scheduler name at the kernel's limit", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.0.0.2"), Port: 5, Scheduler: "123456789012345"})
	}),
	op("scheduler none", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateService(ctx, ipvs.Service{Protocol: ipvs.SCTP, Addr: a("10.0.0.2"), Port: 3, Scheduler: "none"})
	}),
	op("update missing", func(ctx context.Context, c *ipvs.Client) error {
		return c.UpdateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.9.9.9"), Port: 80})
	}),
	op("update v4", func(ctx context.Context, c *ipvs.Client) error {
		return c.UpdateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.0.0.1"), Port: 80, Scheduler: "wrr", Flags: ipvs.FlagPersistent, Timeout: 7})
	}),
	op("dest masq", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.2"), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: 100000, UpperThreshold: 10, LowerThreshold: 5})
	}),
	op("dest again", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.2"), Port: 8080, Weight: 1})
	}),
	op("dest gue", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.3"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.GUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelRemCsum})
	}),
	op("dest gre", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.4"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.GRE, TunnelFlags: ipvs.TunnelCsum})
	}),
	op("dest mixed family", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("2001:db8::5"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 1})
	}),
	op("dest v6", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc6.Key(), ipvs.Destination{Addr: a("2001:db8::10"), Port: 53, ForwardMethod: ipvs.DirectRoute, Weight: 1})
	}),
	op("dest fwmark", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dfwm.Key(), ipvs.Destination{Addr: a("10.0.0.9"), ForwardMethod: ipvs.DirectRoute, Weight: 1})
	}),
	op("dest on missing service", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: a("10.9.9.9"), Port: 80}, ipvs.Destination{Addr: a("10.0.0.2"), Weight: 1})
	}),
	op("dest 0.0.0.0", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("0.0.0.0"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1})
	}),
	op("dest multicast", func(ctx context.Context, c *ipvs.Client) error {
		return c.CreateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("239.0.0.1"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1})
	}),
	op("thresholds upside down", func(ctx context.Context, c *ipvs.Client) error {
		return c.UpdateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.2"), Port: 8080, ForwardMethod: ipvs.Masquerade, UpperThreshold: 1, LowerThreshold: 2})
	}),
	op("update missing dest", func(ctx context.Context, c *ipvs.Client) error {
		return c.UpdateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.99"), Port: 80, Weight: 1})
	}),
	op("update dest", func(ctx context.Context, c *ipvs.Client) error {
		return c.UpdateDestination(ctx, dsvc4.Key(), ipvs.Destination{Addr: a("10.0.0.2"), Port: 8080, ForwardMethod: ipvs.DirectRoute, Weight: 0})
	}),
	op("delete missing dest", func(ctx context.Context, c *ipvs.Client) error {
		return c.DeleteDestination(ctx, dsvc4.Key(), ipvs.DestinationKey{Addr: a("10.0.0.99"), Port: 80})
	}),
	op("delete dest", func(ctx context.Context, c *ipvs.Client) error {
		return c.DeleteDestination(ctx, dsvc4.Key(), ipvs.DestinationKey{Addr: a("10.0.0.4"), Port: 80})
	}),
	op("zero one", func(ctx context.Context, c *ipvs.Client) error { return c.Zero(ctx, dsvc4.Key()) }),
	op("zero missing", func(ctx context.Context, c *ipvs.Client) error {
		return c.Zero(ctx, ipvs.ServiceKey{FWMark: 99})
	}),
	op("zero all", func(ctx context.Context, c *ipvs.Client) error { return c.ZeroAll(ctx) }),
	op("timeouts", func(ctx context.Context, c *ipvs.Client) error {
		return c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 1000 * time.Second, UDP: 5 * time.Second})
	}),
	op("start master", func(ctx context.Context, c *ipvs.Client) error {
		return c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Master, Interface: "eth0", SyncID: 3})
	}),
	op("start master again", func(ctx context.Context, c *ipvs.Client) error {
		return c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Master, Interface: "eth0"})
	}),
	op("start backup v6 group", func(ctx context.Context, c *ipvs.Client) error {
		return c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Backup, Interface: "eth1", Group: a("ff02::1234"), Port: 9000, TTL: 3, MaxLen: 1200})
	}),
	op("start on missing interface", func(ctx context.Context, c *ipvs.Client) error {
		return c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Backup, Interface: "nosuch0"})
	}),
	{"daemons", func(ctx context.Context, c *ipvs.Client) string {
		ds, err := c.Daemons(ctx)
		return fmt.Sprintf("%+v %s", ds, outcome(err))
	}},
	op("stop backup", func(ctx context.Context, c *ipvs.Client) error {
		return c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Backup})
	}),
	op("stop backup again", func(ctx context.Context, c *ipvs.Client) error {
		return c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Backup})
	}),
	op("stop master", func(ctx context.Context, c *ipvs.Client) error {
		return c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Master})
	}),
	{"timeouts read", func(ctx context.Context, c *ipvs.Client) string {
		t, err := c.Timeouts(ctx)
		return fmt.Sprintf("%+v %s", t, outcome(err))
	}},
	op("restore timeouts", func(ctx context.Context, c *ipvs.Client) error {
		return c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 900 * time.Second, UDP: 300 * time.Second})
	}),
	{"batch", func(ctx context.Context, c *ipvs.Client) string {
		res, err := c.Apply(ctx, []ipvs.Op{
			ipvs.CreateService(ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.5.0.1"), Port: 80}),
			ipvs.CreateService(ipvs.Service{Protocol: ipvs.TCP, Addr: a("10.5.0.1"), Port: 80}),
			ipvs.CreateDestination(ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: a("10.5.0.1"), Port: 80}, ipvs.Destination{Addr: a("10.5.0.2"), Port: 80, Weight: 1}),
			ipvs.DeleteService(ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: a("10.5.0.9"), Port: 80}),
		})
		var out []string
		for _, r := range res {
			out = append(out, outcome(r))
		}
		return strings.Join(out, ",") + " " + outcome(err)
	}},
	op("delete fwmark", func(ctx context.Context, c *ipvs.Client) error { return c.DeleteService(ctx, dfwm.Key()) }),
	op("delete missing", func(ctx context.Context, c *ipvs.Client) error { return c.DeleteService(ctx, dfwm.Key()) }),
	{"get missing", func(ctx context.Context, c *ipvs.Client) string {
		_, err := c.Service(ctx, dfwm.Key())
		return outcome(err)
	}},
	{"dests of missing", func(ctx context.Context, c *ipvs.Client) string {
		ds, err := c.Destinations(ctx, dfwm.Key())
		return fmt.Sprintf("%d %s", len(ds), outcome(err))
	}},
}

// tableText renders a snapshot without counters, sorted by key.
func tableText(t *testing.T, c *ipvs.Client) string {
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range snap {
		s := e.Service
		s.Stats = ipvs.Stats{}
		lines = append(lines, fmt.Sprintf("%v sched=%s flags=%#x timeout=%d mask=%v pe=%q", s.Key(), s.Scheduler, uint32(s.Flags), s.Timeout, s.Netmask, s.PEName))
		for _, d := range e.Destinations {
			lines = append(lines, fmt.Sprintf("  %v fwd=%v w=%d u=%d l=%d tun=%v/%d/%v", d.Key(), d.ForwardMethod, d.Weight, d.UpperThreshold, d.LowerThreshold, d.TunnelType, d.TunnelPort, d.TunnelFlags))
		}
	}
	sortStrings(lines)
	return strings.Join(lines, "\n")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestDifferentialFakeVsKernel runs the same calls on the real kernel and
// on ipvstest and requires the same result from each call and the same
// table at the end: the in-memory kernel must not drift from the real one.
func TestDifferentialFakeVsKernel(t *testing.T) {
	real := kernelClient(t)
	k := ipvstest.New()
	fake, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	ctx := context.Background()
	defer real.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Master})
	defer real.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Backup})
	for _, s := range differentialSteps {
		got, want := s.do(ctx, fake), s.do(ctx, real)
		if got != want {
			t.Errorf("%s: fake %q, kernel %q", s.name, got, want)
		}
	}
	if diff := cmp.Diff(tableText(t, real), tableText(t, fake)); diff != "" {
		t.Errorf("tables differ (-kernel +fake):\n%s", diff)
	}
}
