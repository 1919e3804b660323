//go:build e2e

package ipvs_test

// Integration tests against a real kernel. They run inside the QEMU guest
// of `make e2e` (GOIPVSADM_E2E=1), as root, with ip_vs loadable, dummy
// interfaces eth0 (10.0.0.1/24, 2001:db8::1/64) and eth1 (10.1.0.1/24).
// Each test starts from a flushed table.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

var cmpValues = cmpopts.EquateComparable(netip.Addr{}, ipvs.Netmask{})

// ignoreCounters drops what the kernel fills in on its own.
var ignoreCounters = cmp.Options{
	cmpopts.IgnoreFields(ipvs.Service{}, "Stats"),
	cmpopts.IgnoreFields(ipvs.Destination{}, "Stats", "ActiveConns", "InactiveConns", "PersistentConns"),
}

func kernelClient(t *testing.T) *ipvs.Client {
	t.Helper()
	if os.Getenv("GOIPVSADM_E2E") != "1" {
		t.Skip("real-kernel test: run by make e2e inside the guest")
	}
	c, err := ipvs.New(nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		c.Flush(context.Background())
		c.Close()
	})
	if err := c.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return c
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestKernelInfo(t *testing.T) {
	c := kernelClient(t)
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version.String() != "1.2.1" || info.ConnTableSize == 0 {
		t.Errorf("Info = %+v, want version 1.2.1 and a table size", info)
	}
}

// TestKernelServicesRoundTrip writes every kind of service and reads each
// back equal: IPv4/IPv6, TCP/UDP/SCTP, fwmark v4/v6, persistence with
// masks and prefixes, pe, one-packet, scheduler flags.
func TestKernelServicesRoundTrip(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	svcs := []ipvs.Service{
		{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "rr"},
		{Protocol: ipvs.UDP, Addr: addr("10.0.0.2"), Port: 53, Scheduler: "wrr", Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 300, Netmask: ipvs.IPv4NetmaskBits(0xffffff00)},
		{Protocol: ipvs.SCTP, Addr: addr("10.0.0.3"), Port: 3868, Scheduler: "lc"},
		{Protocol: ipvs.TCP, Addr: addr("2001:db8::1"), Port: 443, Scheduler: "sh", Flags: ipvs.FlagPersistent | ipvs.FlagSched1 | ipvs.FlagSched2, Timeout: 60, Netmask: ipvs.IPv6Prefix(64)},
		{Protocol: ipvs.UDP, Addr: addr("10.0.0.4"), Port: 5060, Scheduler: "mh", Flags: ipvs.FlagPersistent | ipvs.FlagSched1, Timeout: 30, PEName: "sip"},
		{Protocol: ipvs.TCP, Addr: addr("10.0.0.5"), Port: 0, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 360, Netmask: ipvs.IPv4NetmaskBits(0)},
		{FWMark: 42, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 300, Netmask: ipvs.IPv4NetmaskBits(0xffffff00), PEName: "sip"},
		{Family: ipvs.IPv6, FWMark: 43, Scheduler: "wlc", Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 300, Netmask: ipvs.IPv6Prefix(48)},
		{FWMark: 3000000000, Scheduler: "rr", Flags: ipvs.FlagSched1 | ipvs.FlagSched3},
	}
	for _, s := range svcs {
		if err := c.CreateService(ctx, s); err != nil {
			t.Fatalf("CreateService(%v): %v", s.Key(), err)
		}
	}
	for _, want := range svcs {
		got, err := c.Service(ctx, want.Key())
		if err != nil {
			t.Fatalf("Service(%v): %v", want.Key(), err)
		}
		want.Family = want.Key().Family
		if want.Scheduler == "" {
			want.Scheduler = "wlc"
		}
		if diff := cmp.Diff(want, got, cmpValues, ignoreCounters); diff != "" {
			t.Errorf("%v read back (-want +got):\n%s", want.Key(), diff)
		}
	}
	all, err := c.Services(ctx)
	if err != nil || len(all) != len(svcs) {
		t.Fatalf("Services = %d, %v; want %d", len(all), err, len(svcs))
	}
	seen := map[ipvs.ServiceKey]bool{}
	for _, s := range all {
		seen[s.Key()] = true
	}
	for _, s := range svcs {
		if !seen[s.Key()] {
			t.Errorf("dump misses %v", s.Key())
		}
	}

	// Update replaces the whole configuration.
	upd := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 10}
	if err := c.UpdateService(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Service(ctx, upd.Key())
	upd.Family = ipvs.IPv4
	if diff := cmp.Diff(upd, got, cmpValues, ignoreCounters); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	if err := c.DeleteService(ctx, upd.Key()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Service(ctx, upd.Key()); !errors.Is(err, ipvs.ErrServiceNotFound) || !errors.Is(err, unix.ESRCH) {
		t.Errorf("Service after delete: %v, want ErrServiceNotFound", err)
	}
}

func TestKernelErrors(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	key := svc.Key()
	must(t, c.CreateService(ctx, svc))
	dest := ipvs.Destination{Addr: addr("10.0.0.2"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1}
	must(t, c.CreateDestination(ctx, key, dest))
	missing := ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: addr("10.0.0.9"), Port: 80}
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"add existing service", c.CreateService(ctx, svc), ipvs.ErrServiceExists},
		{"unknown scheduler", c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.7"), Port: 1, Scheduler: "nosuch"}), ipvs.ErrSchedulerNotFound},
		{"unknown pe", c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.7"), Port: 2, Scheduler: "rr", PEName: "nope"}), ipvs.ErrSchedulerNotFound},
		{"pe name of 16 bytes", c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.7"), Port: 3, Scheduler: "rr", PEName: "1234567890123456"}), ipvs.ErrSchedulerNotFound},
		{"edit missing service", c.UpdateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.9"), Port: 80}), ipvs.ErrServiceNotFound},
		{"delete missing service", c.DeleteService(ctx, missing), ipvs.ErrServiceNotFound},
		{"zero missing service", c.Zero(ctx, missing), ipvs.ErrServiceNotFound},
		{"dest on missing service", c.CreateDestination(ctx, missing, dest), ipvs.ErrServiceNotFound},
		{"existing dest", c.CreateDestination(ctx, key, dest), ipvs.ErrDestinationExists},
		{"edit missing dest", c.UpdateDestination(ctx, key, ipvs.Destination{Addr: addr("10.0.0.3"), Port: 80, Weight: 1}), ipvs.ErrDestinationNotFound},
		{"delete missing dest", c.DeleteDestination(ctx, key, ipvs.DestinationKey{Addr: addr("10.0.0.3"), Port: 80}), ipvs.ErrDestinationNotFound},
		{"stop missing daemon", c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Backup}), ipvs.ErrDaemonNotRunning},
		{"thresholds", c.UpdateDestination(ctx, key, ipvs.Destination{Addr: addr("10.0.0.2"), Port: 80, LowerThreshold: 5}), unix.ERANGE},
		{"thresholds on a missing service", c.CreateDestination(ctx, missing, ipvs.Destination{Addr: addr("10.0.0.2"), Port: 80, LowerThreshold: 5}), ipvs.ErrServiceNotFound},
	}
	for _, ch := range checks {
		if !errors.Is(ch.err, ch.want) {
			t.Errorf("%s: %v, want %v", ch.name, ch.err, ch.want)
		}
	}
	// The kernel refuses a multicast real server with EINVAL.
	err := c.CreateDestination(ctx, key, ipvs.Destination{Addr: addr("224.0.0.5"), Port: 80, Weight: 1, ForwardMethod: ipvs.Masquerade})
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("multicast destination: %v, want EINVAL", err)
	}
	if _, err := c.Destinations(ctx, missing); err != nil {
		t.Errorf("destinations of a missing service: %v, want an empty list", err)
	}
}

// TestKernelDestinations covers forwarding methods, weights above 65535,
// thresholds, tunnels of every type, mixed families and the kernel's
// newest-first order.
func TestKernelDestinations(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	svc4 := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "wrr"}
	svc6 := ipvs.Service{Protocol: ipvs.UDP, Addr: addr("2001:db8::1"), Port: 53, Scheduler: "rr"}
	fwm := ipvs.Service{FWMark: 7, Scheduler: "rr"}
	for _, s := range []ipvs.Service{svc4, svc6, fwm} {
		must(t, c.CreateService(ctx, s))
	}
	dests4 := []ipvs.Destination{
		{Addr: addr("10.0.0.2"), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: 100000, UpperThreshold: 1000, LowerThreshold: 500},
		{Addr: addr("10.0.0.3"), Port: 80, ForwardMethod: ipvs.DirectRoute, Weight: 0},
		{Addr: addr("10.0.0.4"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.IPIP},
		{Addr: addr("10.0.0.5"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 3, TunnelType: ipvs.GUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelCsum},
		{Addr: addr("10.0.0.6"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 4, TunnelType: ipvs.GRE, TunnelFlags: ipvs.TunnelCsum},
		{Addr: addr("10.0.0.7"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 5, TunnelType: ipvs.GUE, TunnelPort: 5555, TunnelFlags: ipvs.TunnelRemCsum},
		// Mixed family: an IPv6 real server behind an IPv4 service, tunnelled.
		{Addr: addr("2001:db8::20"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 1},
	}
	for _, d := range dests4 {
		must(t, c.CreateDestination(ctx, svc4.Key(), d))
	}
	got, err := c.Destinations(ctx, svc4.Key())
	must(t, err)
	want := make([]ipvs.Destination, len(dests4))
	for i, d := range dests4 {
		want[len(dests4)-1-i] = d // newest first
	}
	if diff := cmp.Diff(want, got, cmpValues, ignoreCounters); diff != "" {
		t.Errorf("IPv4 service destinations (-want +got):\n%s", diff)
	}

	d6 := []ipvs.Destination{
		{Addr: addr("2001:db8::10"), Port: 53, ForwardMethod: ipvs.Masquerade, Weight: 1},
		{Addr: addr("10.1.0.9"), Port: 53, ForwardMethod: ipvs.Tunnel, Weight: 1},
	}
	for _, d := range d6 {
		must(t, c.CreateDestination(ctx, svc6.Key(), d))
	}
	got, err = c.Destinations(ctx, svc6.Key())
	must(t, err)
	if diff := cmp.Diff([]ipvs.Destination{d6[1], d6[0]}, got, cmpValues, ignoreCounters); diff != "" {
		t.Errorf("IPv6 service destinations (-want +got):\n%s", diff)
	}

	must(t, c.CreateDestination(ctx, fwm.Key(), ipvs.Destination{Addr: addr("10.0.0.9"), ForwardMethod: ipvs.DirectRoute, Weight: 1}))

	// Update replaces every field; delete removes.
	upd := ipvs.Destination{Addr: addr("10.0.0.2"), Port: 8080, ForwardMethod: ipvs.DirectRoute, Weight: 7}
	must(t, c.UpdateDestination(ctx, svc4.Key(), upd))
	must(t, c.DeleteDestination(ctx, svc4.Key(), ipvs.DestinationKey{Addr: addr("10.0.0.3"), Port: 80}))
	got, _ = c.Destinations(ctx, svc4.Key())
	for _, d := range got {
		if d.Addr == addr("10.0.0.3") {
			t.Error("deleted destination still listed")
		}
		if d.Addr == addr("10.0.0.2") {
			if diff := cmp.Diff(upd, d, cmpValues, ignoreCounters); diff != "" {
				t.Errorf("updated destination (-want +got):\n%s", diff)
			}
		}
	}
	if len(got) != len(dests4)-1 {
		t.Errorf("%d destinations after delete, want %d", len(got), len(dests4)-1)
	}

	snap, err := c.Snapshot(ctx)
	must(t, err)
	total := 0
	for _, e := range snap {
		total += len(e.Destinations)
	}
	if len(snap) != 3 || total != len(dests4)-1+len(d6)+1 {
		t.Errorf("Snapshot: %d services, %d destinations", len(snap), total)
	}
}

func TestKernelTimeouts(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	orig, err := c.Timeouts(ctx)
	must(t, err)
	defer c.SetTimeouts(ctx, orig)
	must(t, c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 1000 * time.Second, UDP: 77 * time.Second}))
	got, err := c.Timeouts(ctx)
	must(t, err)
	want := ipvs.Timeouts{TCP: 1000 * time.Second, TCPFin: orig.TCPFin, UDP: 77 * time.Second}
	if got != want {
		t.Errorf("Timeouts = %+v, want %+v (zero keeps the current value)", got, want)
	}
}

func TestKernelDaemons(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	defer c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Master})
	defer c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Backup})
	must(t, c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Master, Interface: "eth0", SyncID: 7}))
	must(t, c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Backup, Interface: "eth1", SyncID: 9, MaxLen: 1400, Group: addr("239.1.2.3"), Port: 9000, TTL: 5}))
	if err := c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Master, Interface: "eth0"}); !errors.Is(err, ipvs.ErrDaemonRunning) {
		t.Errorf("second master: %v, want ErrDaemonRunning", err)
	}
	if err := c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.Backup, Interface: "nosuch0"}); err == nil {
		t.Error("daemon on a missing interface started")
	}
	got, err := c.Daemons(ctx)
	must(t, err)
	want := []ipvs.Daemon{
		{State: ipvs.Master, Interface: "eth0", SyncID: 7, MaxLen: 1472, Group: addr("224.0.0.81"), Port: 8848, TTL: 1},
		{State: ipvs.Backup, Interface: "eth1", SyncID: 9, MaxLen: 1400, Group: addr("239.1.2.3"), Port: 9000, TTL: 5},
	}
	if diff := cmp.Diff(want, got, cmpValues); diff != "" {
		t.Errorf("Daemons (-want +got):\n%s", diff)
	}
	must(t, c.StopDaemon(ctx, ipvs.Daemon{State: ipvs.Master}))
	got, _ = c.Daemons(ctx)
	if len(got) != 1 || got[0].State != ipvs.Backup {
		t.Errorf("after stopping the master: %+v", got)
	}
}

func TestKernelConcurrentUse(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 9, byte(w), byte(i)}), Port: 80, Scheduler: "rr"}
				if err := c.CreateService(ctx, s); err != nil {
					errs <- err
					return
				}
				if err := c.CreateDestination(ctx, s.Key(), ipvs.Destination{Addr: addr("10.0.0.2"), Port: 80, Weight: 1, ForwardMethod: ipvs.Masquerade}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := c.Snapshot(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	snap, err := c.Snapshot(ctx)
	must(t, err)
	if len(snap) != 100 {
		t.Errorf("%d services after concurrent creation, want 100", len(snap))
	}
}

func TestKernelZeroAndStats(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.UDP, Addr: addr("10.0.0.1"), Port: 5353, Scheduler: "rr"}
	must(t, c.CreateService(ctx, svc))
	// A local real server: the kernel switches it to Local forwarding.
	must(t, c.CreateDestination(ctx, svc.Key(), ipvs.Destination{Addr: addr("10.1.0.1"), Port: 5353, Weight: 1, ForwardMethod: ipvs.Masquerade}))
	conn, err := net.Dial("udp", "10.0.0.1:5353")
	must(t, err)
	for i := 0; i < 3; i++ {
		conn.Write([]byte("ping"))
	}
	conn.Close()
	// The kernel folds its per-CPU counters into the totals every two
	// seconds (the rate estimator), so wait for them.
	s := waitStats(t, c, svc.Key(), func(st ipvs.Stats) bool { return st.Conns >= 1 && st.InPkts >= 1 && st.InBytes > 0 })
	if s.Stats.Conns == 0 || s.Stats.InPkts == 0 || s.Stats.InBytes == 0 {
		t.Errorf("stats after traffic = %+v, want a connection and its packets", s.Stats)
	}
	ds, _ := c.Destinations(ctx, svc.Key())
	if len(ds) != 1 || ds[0].Stats.Conns != 1 {
		t.Errorf("destination after traffic = %+v, want its connection counted", ds)
	}
	conns, err := ipvs.ConnectionsFromProc("/proc")
	must(t, err)
	found := false
	for _, cn := range conns {
		if cn.Virtual == netip.MustParseAddrPort("10.0.0.1:5353") {
			found = true
		}
	}
	if !found {
		t.Errorf("connection table %+v lacks the UDP connection", conns)
	}
	must(t, c.Zero(ctx, svc.Key()))
	s, _ = c.Service(ctx, svc.Key())
	if s.Stats.Conns != 0 || s.Stats.InPkts != 0 {
		t.Errorf("stats after Zero = %+v", s.Stats)
	}
	must(t, c.ZeroAll(ctx))
}

// TestKernelNATConnection sends a TCP connection through a masquerading
// service between two network namespaces inside the guest and finds it in
// the connection table with its real server.
func TestKernelNATConnection(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	ipBin := findIP(t)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{"ipvsc", "ipvsr"} {
		exec.Command(ipBin, "netns", "del", ns).Run()
		sh("netns", "add", ns)
		defer exec.Command(ipBin, "netns", "del", ns).Run()
	}
	sh("link", "add", "vc0", "type", "veth", "peer", "name", "vc1", "netns", "ipvsc")
	sh("link", "add", "vr0", "type", "veth", "peer", "name", "vr1", "netns", "ipvsr")
	sh("addr", "add", "10.200.1.1/24", "dev", "vc0")
	sh("addr", "add", "10.200.2.1/24", "dev", "vr0")
	sh("addr", "add", "10.200.9.1/32", "dev", "eth1")
	sh("link", "set", "vc0", "up")
	sh("link", "set", "vr0", "up")
	for ns, a := range map[string]string{"ipvsc": "10.200.1.2/24", "ipvsr": "10.200.2.2/24"} {
		dev := map[string]string{"ipvsc": "vc1", "ipvsr": "vr1"}[ns]
		gw := map[string]string{"ipvsc": "10.200.1.1", "ipvsr": "10.200.2.1"}[ns]
		sh("-n", ns, "addr", "add", a, "dev", dev)
		sh("-n", ns, "link", "set", dev, "up")
		sh("-n", ns, "link", "set", "lo", "up")
		sh("-n", ns, "route", "add", "default", "via", gw)
	}
	must(t, os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644))

	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.200.9.1"), Port: 80, Scheduler: "rr"}
	must(t, c.CreateService(ctx, svc))
	must(t, c.CreateDestination(ctx, svc.Key(), ipvs.Destination{Addr: addr("10.200.2.2"), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: 1}))

	var ln net.Listener
	inNetns(t, "ipvsr", func() {
		var err error
		ln, err = net.Listen("tcp", "10.200.2.2:8080")
		must(t, err)
	})
	defer ln.Close()
	served := make(chan string, 1)
	release := make(chan struct{}) // the server keeps the connection open until the checks are done
	defer close(release)
	go func() {
		cn, err := ln.Accept()
		if err != nil {
			served <- err.Error()
			return
		}
		defer cn.Close()
		buf := make([]byte, 5)
		n, _ := cn.Read(buf)
		cn.Write([]byte("pong"))
		served <- string(buf[:n])
		<-release
	}()
	var cn net.Conn
	inNetns(t, "ipvsc", func() {
		var err error
		cn, err = net.DialTimeout("tcp", "10.200.9.1:80", 10*time.Second)
		must(t, err)
	})
	defer cn.Close()
	cn.Write([]byte("ping"))
	cn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if n, err := cn.Read(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("reply through the NAT service: %q, %v", buf[:n], err)
	}
	if got := <-served; got != "ping" {
		t.Fatalf("real server got %q", got)
	}

	conns, err := ipvs.ConnectionsFromProc("/proc")
	must(t, err)
	var found *ipvs.Connection
	for i := range conns {
		if conns[i].Virtual == netip.MustParseAddrPort("10.200.9.1:80") {
			found = &conns[i]
		}
	}
	if found == nil {
		t.Fatalf("connection not listed: %+v", conns)
	}
	if found.Destination != netip.MustParseAddrPort("10.200.2.2:8080") || found.Client.Addr() != addr("10.200.1.2") ||
		found.Protocol != "TCP" || found.State != "ESTABLISHED" {
		t.Errorf("connection entry = %+v", *found)
	}
	var ds []ipvs.Destination
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if ds, _ = c.Destinations(ctx, svc.Key()); len(ds) == 1 && ds[0].ActiveConns == 1 {
			break
		}
	}
	if len(ds) != 1 || ds[0].ActiveConns != 1 {
		t.Errorf("destination counters = %+v, want one active connection", ds)
	}
}

func findIP(t *testing.T) string {
	for _, p := range []string{os.Getenv("IP"), "/sbin/ip", "/bin/ip", "/usr/sbin/ip", "/usr/bin/ip"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Skip("iproute2 ip not found")
	return ""
}

// inNetns runs fn on a thread inside the named network namespace; sockets
// fn creates stay in that namespace.
func inNetns(t *testing.T, name string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	must(t, err)
	defer orig.Close()
	target, err := os.Open("/run/netns/" + name)
	if err != nil {
		target, err = os.Open("/var/run/netns/" + name)
	}
	must(t, err)
	defer target.Close()
	must(t, unix.Setns(int(target.Fd()), unix.CLONE_NEWNET))
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(fmt.Sprintf("cannot return to the original netns: %v", err))
		}
	}()
	fn()
}

// TestKernelNetNS opens a Client inside a namespace by path: its table is
// separate from the root namespace's.
func TestKernelNetNS(t *testing.T) {
	root := kernelClient(t)
	ctx := context.Background()
	ipBin := findIP(t)
	exec.Command(ipBin, "netns", "del", "ipvsns").Run()
	if out, err := exec.Command(ipBin, "netns", "add", "ipvsns").CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command(ipBin, "netns", "del", "ipvsns").Run()
	path := "/run/netns/ipvsns"
	if _, err := os.Stat(path); err != nil {
		path = "/var/run/netns/ipvsns"
	}
	nc, err := ipvs.New(&ipvs.Config{NetNSPath: path})
	must(t, err)
	defer nc.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80}
	must(t, nc.CreateService(ctx, svc))
	inner, _ := nc.Services(ctx)
	outer, _ := root.Services(ctx)
	if len(inner) != 1 || len(outer) != 0 {
		t.Errorf("namespace has %d services, root %d; want 1 and 0", len(inner), len(outer))
	}
	// Destination dumps use a second socket, which must be in the
	// namespace too (in the root one the service would look empty). The
	// kernel wants a local routing table to accept a real server: lo up.
	if out, err := exec.Command(ipBin, "-n", "ipvsns", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n ipvsns link set lo up: %v %s", err, out)
	}
	must(t, nc.CreateDestination(ctx, svc.Key(), ipvs.Destination{Addr: addr("10.0.0.2"), Port: 80, ForwardMethod: ipvs.DirectRoute, Weight: 1}))
	dests, err := nc.Destinations(ctx, svc.Key())
	must(t, err)
	snap, err := nc.Snapshot(ctx)
	must(t, err)
	if len(dests) != 1 || len(snap) != 1 || len(snap[0].Destinations) != 1 {
		t.Errorf("namespace: Destinations = %v, Snapshot = %+v; want one destination", dests, snap)
	}
}

func TestKernelContextDeadline(t *testing.T) {
	c := kernelClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a cancelled context: %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if _, err := c.Services(dctx); err != nil {
		t.Errorf("Services within a deadline: %v", err)
	}
}

// waitStats polls a service until ok accepts its stats or 5 s pass.
func waitStats(t *testing.T, c *ipvs.Client, k ipvs.ServiceKey, ok func(ipvs.Stats) bool) ipvs.Service {
	t.Helper()
	var s ipvs.Service
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		var err error
		if s, err = c.Service(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		if ok(s.Stats) {
			break
		}
	}
	return s
}

// TestKernelZeroDestinationAndModify: the zero Destination is direct
// routing in the kernel's own listing (/proc/net/ip_vs says "Route"), and
// ModifyDestination drains and restores the weight with every other
// setting kept, on the real kernel.
func TestKernelZeroDestinationAndModify(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "wrr"}
	must(t, c.CreateService(ctx, svc))
	zero := ipvs.Destination{Addr: addr("10.0.0.2"), Port: 80, Weight: 4, UpperThreshold: 100, LowerThreshold: 10}
	must(t, c.CreateDestination(ctx, svc.Key(), zero))
	proc, err := os.ReadFile("/proc/net/ip_vs")
	must(t, err)
	if !strings.Contains(string(proc), "-> 0A000002:0050      Route   4") {
		t.Errorf("the zero Destination is not direct routing in the kernel:\n%s", proc)
	}

	must(t, c.ModifyDestination(ctx, svc.Key(), zero.Key(), func(d *ipvs.Destination) { d.Weight = 0 }))
	got, err := c.Destinations(ctx, svc.Key())
	must(t, err)
	drained := zero
	drained.Weight = 0
	if diff := cmp.Diff([]ipvs.Destination{drained}, got, cmpValues, ignoreCounters); diff != "" {
		t.Errorf("after the drain (-want +got):\n%s", diff)
	}
	must(t, c.ModifyDestination(ctx, svc.Key(), zero.Key(), func(d *ipvs.Destination) { d.Weight = 4 }))
	got, err = c.Destinations(ctx, svc.Key())
	must(t, err)
	if diff := cmp.Diff([]ipvs.Destination{zero}, got, cmpValues, ignoreCounters); diff != "" {
		t.Errorf("after the restore (-want +got):\n%s", diff)
	}
	err = c.ModifyDestination(ctx, svc.Key(), ipvs.DestinationKey{Addr: addr("10.0.0.3"), Port: 80}, func(*ipvs.Destination) {})
	if !errors.Is(err, ipvs.ErrDestinationNotFound) {
		t.Errorf("ModifyDestination of a missing destination: %v", err)
	}
	err = c.ModifyService(ctx, ipvs.ServiceKey{Protocol: ipvs.UDP, Addr: addr("10.0.0.1"), Port: 80}, func(*ipvs.Service) {})
	if !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("ModifyService of a missing service: %v", err)
	}
}
