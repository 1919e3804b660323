package listing

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/listing/testtable"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// edgeTable exercises names, cuts and flags.
func edgeTable() []ipvs.ServiceEntry {
	a := netip.MustParseAddr
	mask := ipvs.IPv4NetmaskBits(0xffff0000)
	return []ipvs.ServiceEntry{
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a("10.0.0.44"), Port: 8080, Scheduler: "rr",
			Flags: ipvs.FlagSched1 | ipvs.FlagSched3},
			Destinations: []ipvs.Destination{
				{Addr: a("192.168.1.44"), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: 2147483647},
				{Addr: a("192.168.1.2"), Port: 8080, ForwardMethod: ipvs.Local, Weight: 0},
				{Addr: a("2001:db8::44"), Port: 8080, ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 65535,
					TunnelFlags: ipvs.TunnelRemCsum, Weight: 3},
			}},
		{Service: ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.SCTP, Addr: a("2001:db8::44"), Port: 5672, Scheduler: "mh",
			Flags: ipvs.FlagSched2 | ipvs.FlagPersistent, Timeout: 60, Netmask: ipvs.IPv6Prefix(48), PEName: "sip"},
			Destinations: []ipvs.Destination{
				{Addr: a("2001:db8::1"), Port: 5672, ForwardMethod: ipvs.DirectRoute, Weight: 1},
				{Addr: a("10.0.0.1"), Port: 5672, ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.GRE, Weight: 1},
			}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a("10.0.0.1"), Port: 97, Scheduler: "sh",
			Flags: ipvs.FlagSched3}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.UDP, Addr: a("10.0.0.1"), Port: 5060, Scheduler: "rr",
			Flags: ipvs.FlagOnePacket, PEName: "sip"}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.Protocol(50), Addr: a("10.0.0.1"), Port: 80, Scheduler: "wrr",
			Flags: ipvs.FlagPersistent, Timeout: 360, Netmask: mask}},
		{Service: ipvs.Service{Family: ipvs.IPv4, FWMark: 3000000000, Scheduler: "lc"},
			Destinations: []ipvs.Destination{
				{Addr: a("10.0.0.1"), Port: 80, ForwardMethod: ipvs.DirectRoute, Weight: 1},
			}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.UDP, Addr: a("10.0.0.2"), Port: 80, Scheduler: "none"}},
	}
}

func TestEdgeCases(t *testing.T) {
	formats := map[string]Options{
		"default":         {},
		"tun-info":        {TunInfo: true},
		"stats":           {Stats: true},
		"thresholds":      {Thresholds: true},
		"persistent-conn": {PersistentConn: true},
	}
	for name, opts := range formats {
		t.Run(name, func(t *testing.T) {
			golden(t, "edge-named-"+name, table(opts, namedResolver(), edgeTable()))
			opts.Numeric = true
			golden(t, "edge-numeric-"+name, table(opts, namedResolver(), edgeTable()))
		})
	}
}

// TestEdgeCuts checks the column cuts on the golden output's lines
// independently of the golden file.
func TestEdgeCuts(t *testing.T) {
	out := table(Options{}, namedResolver(), edgeTable())
	for _, want := range []string{
		"TCP  a-long-virtual-service-name. rr (flag-1,flag-3)\n", // "TCP  " + 28
		"  -> a-very-long-real-server-name Masq    2147483647 0          0         \n",
		"  -> real2.example:http-alt       Local   0      0          0         \n",
		"SCTP [a-very-long-ipv6-host-name-that-goes-on.and-on.example.com mh (mh-port) persistent 60 mask 48 pe sip\n",
		"  -> [a-very-long-ipv6-host-name-that-goes-on.and-on.example.com Tunnel  3      0          0         \n",
		"TCP  web.example:97 sh ()\n",
		"UDP  web.example:sip rr ops\n",
		"?    web.example:80 wrr persistent 360 mask 255.255.0.0\n",
		"FWM  -1294967296 lc\n",
		"  -> web.example:80               Route   1      0          0         \n", // fwmark: numeric port
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEmptyTable(t *testing.T) {
	got := table(Options{}, nil, nil)
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" + titleDefault
	compareText(t, "empty", want, got)
}

func TestSingleServiceAndNoSort(t *testing.T) {
	// ipvsadm -L -t VIP: no version line, title, the service, its
	// destinations sorted.
	entries := testtable.Capture(false)
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Numeric: true}, nil)
	w.Title()
	w.Entry(&entries[1])
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := titleDefault +
		"UDP  10.0.0.2:53 rr persistent 300\n" +
		"  -> 192.168.1.4:53               Tunnel  5      0          0         \n" +
		"  -> 192.168.1.5:53               Tunnel  5      0          0         \n" +
		"  -> 192.168.1.6:53               Tunnel  5      0          0         \n"
	compareText(t, "single", want, buf.String())

	golden(t, "nosort", table(Options{Numeric: true, NoSort: true}, nil, testtable.Capture(false)))
}

func TestTimeoutsAndDaemons(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{}, nil)
	w.Timeouts(ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second})
	w.Daemons([]ipvs.Daemon{
		{State: ipvs.Master, Interface: "eth0", SyncID: 0, MaxLen: 1472, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1},
		{State: ipvs.Backup, Interface: "eth1", SyncID: 7, MaxLen: 1400, Group: netip.MustParseAddr("239.1.2.3"), Port: 9000, TTL: 5},
		{State: ipvs.Backup, Interface: "eth2", SyncID: 255, Group: netip.MustParseAddr("ff02::1234")},
		{State: ipvs.Master, Interface: "eth0"}, // a kernel before 4.3
		{State: 0, Interface: "ignored"},
	})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "Timeout (tcp tcpfin udp): 900 120 300\n" +
		"master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n" +
		"backup sync daemon (mcast=eth1, syncid=7, maxlen=1400, group=239.1.2.3, port=9000, ttl=5)\n" +
		"backup sync daemon (mcast=eth2, syncid=255, group=ff02::1234)\n" +
		"master sync daemon (mcast=eth0, syncid=0)\n"
	compareText(t, "timeouts and daemons", want, buf.String())
}

func readConns(t *testing.T) []ipvs.Connection {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ip_vs_conn"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conns, err := ipvs.ReadConnections(f)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

func connTable(opts Options, conns []ipvs.Connection) string {
	var buf bytes.Buffer
	w := NewWriter(&buf, opts, nil)
	w.ConnHeader()
	for i := range conns {
		w.Connection(&conns[i])
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.String()
}

func TestConnectionCaptures(t *testing.T) {
	conns := readConns(t)
	want, err := os.ReadFile(filepath.Join("testdata", "captures", "Lnc.txt"))
	if err != nil {
		t.Fatal(err)
	}
	compareText(t, "-Lnc", string(want), connTable(Options{Numeric: true}, conns))

	// The reference captured one row of -Lnc --persistent-conn.
	want, err = os.ReadFile(filepath.Join("testdata", "captures", "Lnc-persistent-conn-row.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := connTable(Options{Numeric: true, PersistentConn: true}, conns[3:4])
	compareText(t, "-Lnc --persistent-conn", string(want), got)

	// The whole table in both forms, numeric and named.
	golden(t, "conns-persistent-conn", connTable(Options{Numeric: true, PersistentConn: true}, conns))
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{}, namedResolver())
	w.ConnHeader()
	for i := range conns {
		w.Connection(&conns[i])
	}
	w.Flush()
	golden(t, "conns-named", buf.String())
}

// TestMoreCapture checks the -L forms the reference gives for the
// services of its second -S capture.
func TestMoreCapture(t *testing.T) {
	got := table(Options{Numeric: true}, nil, testtable.More())
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" + titleDefault +
		"FWM  -1294967296 rr\n" +
		"TCP  1.2.3.4:90 rr (flag-1,flag-3)\n" +
		"TCP  1.2.3.4:91 sh (sh-fallback,sh-port)\n" +
		"TCP  1.2.3.4:97 sh ()\n" +
		"TCP  1.2.3.4:98 rr\n" +
		"UDP  1.2.3.4:5060 mh (mh-fallback) persistent 30 pe sip ops\n"
	compareText(t, "more", want, got)
}
