package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"syscall"
	"testing"
	"time"

	native "github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

func newTestHandle(t *testing.T, opts ...ipvstest.Option) (*Handle, *ipvstest.Kernel) {
	t.Helper()
	return newTestHandleTimeout(t, 0, opts...)
}

// newTestHandleTimeout is newTestHandle with calls bounded by timeout (0:
// the package's bound).
func newTestHandleTimeout(t *testing.T, timeout time.Duration, opts ...ipvstest.Option) (*Handle, *ipvstest.Kernel) {
	t.Helper()
	k := ipvstest.New(opts...)
	h, err := newHandle(&native.Config{Dial: k.Dial, CallTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, k
}

func tcpService(addr string) *Service {
	return &Service{AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP, Address: net.ParseIP(addr),
		Port: 80, SchedName: RoundRobin, Netmask: 0xffffffff}
}

func TestServiceReadBack(t *testing.T) {
	h, _ := newTestHandle(t)
	s := tcpService("10.0.0.1")
	s.Flags, s.Timeout, s.Netmask = 0x1, 300, 0xffffff00 // persistent, per /24
	if err := h.NewService(s); err != nil {
		t.Fatal(err)
	}
	want := *s
	want.Address = net.IP{10, 0, 0, 1}
	want.Flags = 0x1 | flagHashed
	svcs, err := h.GetServices()
	if err != nil || len(svcs) != 1 {
		t.Fatalf("GetServices: %v, %v", svcs, err)
	}
	if !reflect.DeepEqual(*svcs[0], want) {
		t.Errorf("GetServices: %+v\nwant %+v", *svcs[0], want)
	}
	got, err := h.GetService(tcpService("10.0.0.1"))
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("GetService: %+v, %v\nwant %+v", got, err, want)
	}

	// A read-modify-write keeps the hashed flag in Flags; writes ignore it.
	got.SchedName = WeightedLeastConnection
	if err := h.UpdateService(got); err != nil {
		t.Fatal(err)
	}
	if again, err := h.GetService(got); err != nil || again.SchedName != WeightedLeastConnection || again.Flags != want.Flags {
		t.Errorf("after UpdateService: %+v, %v", again, err)
	}
}

func TestFWMarkService(t *testing.T) {
	h, _ := newTestHandle(t)
	v6 := &Service{AddressFamily: syscall.AF_INET6, FWMark: 7, SchedName: RoundRobin, Netmask: 64}
	v4 := &Service{FWMark: 8, SchedName: RoundRobin, Netmask: 0xffffffff}
	for _, s := range []*Service{v6, v4} {
		if err := h.NewService(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Service{v6, v4} {
		got, err := h.GetService(s)
		if err != nil {
			t.Fatal(err)
		}
		family := s.AddressFamily
		if family == 0 {
			family = syscall.AF_INET // zero is IPv4 for fwmark services
		}
		if got.FWMark != s.FWMark || got.Address != nil || got.Protocol != 0 || got.Netmask != s.Netmask || got.AddressFamily != family {
			t.Errorf("GetService(fwmark %d): %+v", s.FWMark, got)
		}
	}
}

func TestKernelErrorsAreBareErrnos(t *testing.T) {
	h, _ := newTestHandle(t)
	s := tcpService("10.0.0.1")
	if err := h.NewService(s); err != nil {
		t.Fatal(err)
	}
	d := &Destination{Address: net.ParseIP("10.0.1.1"), Port: 80, Weight: 1}
	missing := tcpService("10.0.0.2")
	for _, c := range []struct {
		what string
		err  error
		want syscall.Errno
		text string
	}{
		{"NewService twice", h.NewService(s), syscall.EEXIST, "file exists"},
		{"DelService of a missing service", h.DelService(missing), syscall.ESRCH, "no such process"},
		{"NewDestination on a missing service", h.NewDestination(missing, d), syscall.ESRCH, "no such process"},
		{"DelDestination of a missing destination", h.DelDestination(s, d), syscall.ENOENT, "no such file or directory"},
		{"UpdateService to an unknown scheduler", h.UpdateService(&Service{Protocol: s.Protocol,
			Address: s.Address, Port: s.Port, SchedName: "nosuch"}), syscall.ENOENT, "no such file or directory"},
	} {
		if c.err != c.want || c.err.Error() != c.text {
			t.Errorf("%s: %#v (%v), want %#v (%q)", c.what, c.err, c.err, c.want, c.text)
		}
	}
	if _, err := h.GetService(missing); err != syscall.ESRCH {
		t.Errorf("GetService of a missing service: %v, want ESRCH", err)
	}
	if h.IsServicePresent(missing) || !h.IsServicePresent(s) {
		t.Error("IsServicePresent is wrong")
	}
}

func TestDestinations(t *testing.T) {
	h, k := newTestHandle(t)
	s := tcpService("10.0.0.1")
	if err := h.NewService(s); err != nil {
		t.Fatal(err)
	}
	for fwd := range uint32(ConnectionFlagDirectRoute + 1) {
		d := &Destination{Address: net.ParseIP("10.0.1.1"), Port: 8080, Weight: 70000, ConnectionFlags: fwd,
			UpperThreshold: 10, LowerThreshold: 5}
		if err := h.NewDestination(s, d); err != nil {
			t.Fatal(err)
		}
		key := serviceKey(s)
		if err := k.SetDestConns(key, destinationKey(d), 3, 4, 0); err != nil {
			t.Fatal(err)
		}
		want := *d
		want.Address, want.AddressFamily = net.IP{10, 0, 1, 1}, syscall.AF_INET
		want.ActiveConnections, want.InactiveConnections = 3, 4
		dests, err := h.GetDestinations(s)
		if err != nil || len(dests) != 1 || !reflect.DeepEqual(*dests[0], want) {
			t.Errorf("forwarding %d: GetDestinations %v, %v\nwant %+v", fwd, dests, err, want)
		}
		if err := h.DelDestination(s, d); err != nil {
			t.Fatal(err)
		}
	}
	bypass := &Destination{Address: net.ParseIP("10.0.1.1"), Port: 80, ConnectionFlags: ConnFwdBypass}
	if err := h.NewDestination(s, bypass); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("NewDestination with the bypass method: %v, want EINVAL", err)
	}
}

func TestIPv6DestinationBehindIPv4Service(t *testing.T) {
	h, _ := newTestHandle(t)
	s := tcpService("10.0.0.1")
	if err := h.NewService(s); err != nil {
		t.Fatal(err)
	}
	d := &Destination{AddressFamily: syscall.AF_INET6, Address: net.ParseIP("2001:db8::2"), Port: 80,
		Weight: 1, ConnectionFlags: ConnectionFlagTunnel}
	if err := h.NewDestination(s, d); err != nil {
		t.Fatal(err)
	}
	dests, err := h.GetDestinations(s)
	if err != nil || len(dests) != 1 || dests[0].AddressFamily != syscall.AF_INET6 || !dests[0].Address.Equal(d.Address) {
		t.Errorf("GetDestinations: %+v, %v", dests, err)
	}
}

func TestStatisticsWidths(t *testing.T) {
	h, k := newTestHandle(t)
	s := tcpService("10.0.0.1")
	if err := h.NewService(s); err != nil {
		t.Fatal(err)
	}
	const big = 1<<32 + 5
	err := k.SetStats(serviceKey(s), native.Stats{Conns: big, InPkts: big + 1, OutPkts: big + 2, InBytes: big + 3,
		OutBytes: big + 4, CPS: 6, InPPS: 7, OutPPS: 8, InBPS: 9, OutBPS: 10})
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.GetService(s)
	if err != nil {
		t.Fatal(err)
	}
	want := SvcStats{Connections: 5, PacketsIn: 6, PacketsOut: 7, BytesIn: big + 3, BytesOut: big + 4,
		CPS: 6, PPSIn: 7, PPSOut: 8, BPSIn: 9, BPSOut: 10}
	if got.Stats != want {
		t.Errorf("Stats %+v, want %+v", got.Stats, want)
	}
}

func TestConfig(t *testing.T) {
	h, _ := newTestHandle(t)
	if err := h.SetConfig(&Config{66 * time.Second, 67 * time.Second, 68 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := h.SetConfig(&Config{TimeoutTCP: 77 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got, err := h.GetConfig()
	if want := (Config{77 * time.Second, 67 * time.Second, 68 * time.Second}); err != nil || *got != want {
		t.Errorf("GetConfig: %+v, %v, want %+v", got, err, want)
	}
}

func TestEmptyListingsAreNil(t *testing.T) {
	h, _ := newTestHandle(t)
	if svcs, err := h.GetServices(); svcs != nil || err != nil {
		t.Errorf("GetServices: %#v, %v", svcs, err)
	}
	s := tcpService("10.0.0.1")
	if err := h.NewService(s); err != nil {
		t.Fatal(err)
	}
	if dests, err := h.GetDestinations(s); dests != nil || err != nil {
		t.Errorf("GetDestinations: %#v, %v", dests, err)
	}
	if err := h.Flush(); err != nil || h.IsServicePresent(s) {
		t.Errorf("Flush: %v; service still present: %v", err, h.IsServicePresent(s))
	}
}

func TestNewFailsWithoutIPVS(t *testing.T) {
	k := ipvstest.New(ipvstest.Unavailable())
	if _, err := newHandle(&native.Config{Dial: k.Dial}); !errors.Is(err, native.ErrUnavailable) {
		t.Errorf("newHandle: %v, want ErrUnavailable", err)
	}
	if _, err := New("/nonexistent/netns"); err == nil {
		t.Error("New with a missing namespace path succeeded")
	}
}

func TestStuckSocketFails(t *testing.T) {
	h, k := newTestHandleTimeout(t, 100*time.Millisecond)
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() {
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	if _, err := h.GetServices(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetServices on a stuck socket: %v, want a deadline error", err)
	}
	k.InjectFault(nil)
	if _, err := h.GetServices(); err != nil {
		t.Errorf("GetServices after the stall: %v", err)
	}
}

// A Handle is shared by goroutines (kube-proxy wrapped moby's in a mutex);
// make test runs this under the race detector.
func TestConcurrentUse(t *testing.T) {
	h, _ := newTestHandle(t)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			s := tcpService(fmt.Sprintf("10.0.0.%d", g+1))
			err := h.NewService(s)
			for i := 0; err == nil && i < 20; i++ {
				err = h.NewDestination(s, &Destination{Address: net.IPv4(10, 1, byte(g), byte(i)), Port: 80, Weight: 1})
				if err == nil {
					_, err = h.GetServices()
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	svcs, err := h.GetServices()
	if err != nil || len(svcs) != 8 {
		t.Fatalf("GetServices: %d services, %v", len(svcs), err)
	}
	for _, s := range svcs {
		if dests, err := h.GetDestinations(s); err != nil || len(dests) != 20 {
			t.Errorf("%v: %d destinations, %v", s.Address, len(dests), err)
		}
	}
}
