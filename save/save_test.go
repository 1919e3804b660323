package save

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/internal/listing/testtable"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

var update = flag.Bool("update", false, "rewrite golden files")

func compareText(t *testing.T, name, want, got string) {
	t.Helper()
	if diff := cmp.Diff(strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	compareText(t, path, string(want), got)
}

func capture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "captures", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, entries []ipvs.ServiceEntry, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// servicesOnly names ports from the test table and no hosts, like the
// machine the captures were taken on.
func servicesOnly() *names.Resolver { return &names.Resolver{ServicesPath: "testdata/services"} }

// TestCaptures reproduces the reference's -S captures byte for byte.
func TestCaptures(t *testing.T) {
	compareText(t, "-Sn", capture(t, "Sn"), write(t, testtable.Capture(false), Options{Numeric: true, Names: servicesOnly()}))
	compareText(t, "-S", capture(t, "S"), write(t, testtable.Capture(false), Options{Names: servicesOnly()}))
	compareText(t, "-S (flags)", capture(t, "more"), write(t, testtable.More(), Options{Names: servicesOnly()}))
}

func TestNumericNeedsNoResolver(t *testing.T) {
	// -S -n must not touch the name tables: a nil resolver works.
	got := write(t, testtable.Capture(false), Options{Numeric: true})
	compareText(t, "-Sn", capture(t, "Sn"), got)
}

func TestEdgeCases(t *testing.T) {
	a := netip.MustParseAddr
	entries := []ipvs.ServiceEntry{
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.SCTP, Addr: a("10.0.0.44"), Port: 5672, Scheduler: "wlc"},
			Destinations: []ipvs.Destination{
				{Addr: a("192.168.1.44"), Port: 5672, ForwardMethod: ipvs.Local, Weight: 0, UpperThreshold: 10, LowerThreshold: 5},
				{Addr: a("2001:db8::44"), Port: 5672, ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080,
					TunnelFlags: ipvs.TunnelRemCsum, Weight: 2147483647},
				{Addr: a("192.168.1.2"), Port: 5672, ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.GRE, Weight: 1},
				{Addr: a("192.168.1.3"), Port: 5672, ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.TunnelType(9), Weight: 1},
			}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.Protocol(50), Addr: a("10.0.0.1"), Port: 80, Scheduler: "rr",
			Flags: ipvs.FlagPersistent, Timeout: 360}},
		{Service: ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Addr: a("2001:db8::44"), Port: 53, Scheduler: "rr",
			Flags: ipvs.FlagPersistent, Timeout: 3600, Netmask: ipvs.IPv6Prefix(56)}},
		{Service: ipvs.Service{Family: ipvs.IPv6, FWMark: 4294967295, Scheduler: "mh", Flags: ipvs.FlagSched3 | ipvs.FlagSched2},
			Destinations: []ipvs.Destination{{Addr: a("2001:db8::1"), Port: 80, ForwardMethod: ipvs.DirectRoute, Weight: 1}}},
	}
	r := &names.Resolver{HostsPath: "testdata/hosts", ServicesPath: "testdata/services"}
	golden(t, "edge-named", write(t, entries, Options{Names: r}))
	golden(t, "edge-numeric", write(t, entries, Options{Numeric: true, Names: r}))

	// No column cuts in -S, only the 59-byte cap.
	out := write(t, entries, Options{Names: r})
	for _, want := range []string{
		"-A --sctp-service a-long-virtual-service-name.example.com:amqp -s wlc\n",
		"-a --sctp-service a-long-virtual-service-name.example.com:amqp -r a-very-long-real-server-name.example.com:amqp -g -w 0\n",
		"-r [a-very-long-ipv6-host-name-that-goes-on.and-on.example.com -i -w 2147483647 --tun-type gue --tun-port 6080 --tun-remcsum\n",
		" -r real2.example:amqp -i -w 1 --tun-type gre --tun-nocsum\n",
		" -r 192.168.1.3:amqp -i -w 1\n",
		"-A --xxx-service web.example:80 -s rr -p 360\n",
		"-A -u [a-very-long-ipv6-host-name-that-goes-on.and-on.example.com -s rr -p 3600 -M 56\n",
		"-A -f -1 -6 -s mh -b mh-port\n",
		"-a -f -1 -6 -r [v6.example]:80 -g -w 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestLossless: the lossless save of the captured tables and the edge
// cases (names never looked up, marks unsigned, thresholds, the mask
// without -p, flag-3 under sh and mh, the timeouts first).
func TestLossless(t *testing.T) {
	a := netip.MustParseAddr
	entries := append(testtable.Capture(false), testtable.More()...)
	entries = append(entries,
		ipvs.ServiceEntry{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a("10.0.0.5"), Port: 80, Scheduler: "rr",
			Netmask: ipvs.IPv4NetmaskBits(0xffffff00)},
			Destinations: []ipvs.Destination{{Addr: a("192.168.1.5"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 3,
				UpperThreshold: 2147483647, LowerThreshold: 100}}},
		ipvs.ServiceEntry{Service: ipvs.Service{Family: ipvs.IPv6, FWMark: 4294967295, Scheduler: "mh",
			Flags: ipvs.FlagSched3 | ipvs.FlagSched1, Netmask: ipvs.IPv6Prefix(64)}},
		ipvs.ServiceEntry{Service: ipvs.Service{Family: ipvs.IPv4, FWMark: 2147483648, Scheduler: "sh", Flags: ipvs.FlagSched3},
			Destinations: []ipvs.Destination{{Addr: a("2001:db8::7"), ForwardMethod: ipvs.Tunnel, Weight: 1, UpperThreshold: 5}}},
	)
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Lossless: true}) // a nil resolver: no lookups
	w.Timeouts(ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 0, UDP: 2678400 * time.Second})
	w.Timeouts(ipvs.Timeouts{}) // nothing to set: no line
	listing.SortEntries(entries)
	for i := range entries {
		w.Entry(&entries[i])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Loss(); err != nil {
		t.Errorf("Loss: %v", err)
	}
	golden(t, "lossless", buf.String())
}

// TestLosslessLoss: values only the kernel interface sets, which no rules
// line carries, make Loss name the line and what it loses.
func TestLosslessLoss(t *testing.T) {
	a := netip.MustParseAddr
	svc := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a("10.0.0.1"), Port: 80, Scheduler: "rr"}
	dest := ipvs.Destination{Addr: a("192.168.0.1"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1}
	for _, tc := range []struct {
		name     string
		svc      func(s *ipvs.Service)
		dest     func(d *ipvs.Destination)
		timeouts ipvs.Timeouts
		want     string
	}{
		{name: "threshold", dest: func(d *ipvs.Destination) { d.UpperThreshold = 3000000000 },
			want: `-x 3000000000" cannot restore the kernel's table: illegal u_threshold specified`},
		{name: "persistence timeout", svc: func(s *ipvs.Service) { s.Flags, s.Timeout = ipvs.FlagPersistent, 2678401 },
			want: "invalid timeout value `2678401' specified"},
		{name: "timeout without persistence", svc: func(s *ipvs.Service) { s.Timeout = 300 },
			want: "persistence timeout 300 reads back as 0"},
		{name: "one-packet TCP", svc: func(s *ipvs.Service) { s.Flags = ipvs.FlagOnePacket },
			want: "One-Packet Scheduling is only for UDP virtual services"},
		{name: "zero port", svc: func(s *ipvs.Service) { s.Port = 0 },
			want: "Zero port specified for non-persistent service"},
		{name: "unknown flag", svc: func(s *ipvs.Service) { s.Flags = 0x2 },
			want: "flags 2 reads back as 0"},
		{name: "routing port", dest: func(d *ipvs.Destination) { d.ForwardMethod, d.Port = ipvs.DirectRoute, 8080 },
			want: "real server 192.168.0.1:8080 reads back as 192.168.0.1:80"},
		{name: "local", dest: func(d *ipvs.Destination) { d.ForwardMethod = ipvs.Local },
			want: "forwarding method"},
		{name: "tunnel type of NAT", dest: func(d *ipvs.Destination) { d.TunnelType, d.TunnelPort = ipvs.GUE, 6080 },
			want: "tunnel type gue reads back as ipip"},
		{name: "two checksum flags", dest: func(d *ipvs.Destination) {
			d.ForwardMethod, d.TunnelType, d.TunnelPort, d.TunnelFlags = ipvs.Tunnel, ipvs.GUE, 6080, ipvs.TunnelCsum|ipvs.TunnelRemCsum
		}, want: "unexpected argument (null)"},
		{name: "timeouts", timeouts: ipvs.Timeouts{TCP: 2678401 * time.Second},
			want: "invalid timeout value `2678401' specified"},
	} {
		e := ipvs.ServiceEntry{Service: svc, Destinations: []ipvs.Destination{dest}}
		if tc.svc != nil {
			tc.svc(&e.Service)
		}
		if tc.dest != nil {
			tc.dest(&e.Destinations[0])
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, Options{Lossless: true})
		w.Timeouts(tc.timeouts)
		w.Entry(&e)
		w.Flush()
		if err := w.Loss(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Loss() = %v, want it to say %q; the save:\n%s", tc.name, err, tc.want, buf.String())
		}
		if strings.Count(buf.String(), "\n") < 2 {
			t.Errorf("%s: the save stopped at the loss:\n%s", tc.name, buf.String())
		}
	}
}
