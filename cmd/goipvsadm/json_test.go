package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// jsonSetup builds a table with every kind of service and destination.
const jsonSetup = `
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -x 1000 -y 500
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 2
-A -u 10.0.0.2:53 -s rr -p 300
-a -u 10.0.0.2:53 -r 192.168.1.4:53 -i -w 5 --tun-type gue --tun-port 6080 --tun-csum
-a -u 10.0.0.2:53 -r 192.168.1.5:53 -i -w 5 --tun-type gre --tun-csum
-a -u 10.0.0.2:53 -r 192.168.1.10:53 -i -w 5 --tun-type gue --tun-port 7000 --tun-remcsum
-a -u 10.0.0.2:53 -r 192.168.1.6:53 -i -w 5
-a -u 10.0.0.2:53 -r 192.168.1.7:53 -g -w 0
-A -t [2001:db8::1]:443 -s sh -p 300 -b sh-fallback,sh-port
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m
-a -t [2001:db8::1]:443 -r 192.168.1.8:443 -i
-A -f 42 -s wlc -p 300 -M 255.255.255.0 --pe sip
-a -f 42 -r 192.168.1.9 -g
-A -f 43 -6 -s wlc -p 300 -M 64 -o
-A --sctp-service 10.0.0.3:3868 -s mh -b mh-port
-A -u 10.0.0.4:5060 -s rr -o -p 60 --pe sip
--set 900 120 300
`

// jsonDaemons clears the table (the kernel starts no sync daemon while a
// destination differs in family from its service) and starts two daemons.
const jsonDaemons = `
-C
--start-daemon master --mcast-interface eth0 --syncid 7
--start-daemon backup --mcast-interface eth1 --syncid 8 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3 --sync-maxlen 1400
`

func runSetup(t *testing.T, f *fakeRun, script string) {
	t.Helper()
	lines, err := parseScript(script)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if r := f.run(l.args, ""); r.exit != 0 {
			t.Fatalf("setup %q: %+v", l.args, r)
		}
	}
}

func jsonRun(t *testing.T) *fakeRun {
	t.Helper()
	f := newFakeRun(t)
	runSetup(t, f, jsonSetup)
	vip := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.k.SetStats(vip, ipvs.Stats{Conns: 12345, InPkts: 99999999, OutPkts: 100000000, InBytes: 1 << 40,
		OutBytes: 18446744073709551615, CPS: 5, InPPS: 6, OutPPS: 7, InBPS: 8, OutBPS: 9}))
	rs := ipvs.DestinationKey{Addr: netip.MustParseAddr("192.168.1.3"), Port: 80}
	must(f.k.SetDestStats(vip, rs, ipvs.Stats{Conns: 99999999999, InPkts: 1, OutPkts: 2, InBytes: 3, OutBytes: 4,
		CPS: 4294967296, InPPS: 1, OutPPS: 2, InBPS: 3, OutBPS: 4}))
	must(f.k.SetDestConns(vip, rs, 123456789, 4294967295, 12))
	return f
}

// TestJSONListing runs every -L --json form, and the errors, on the
// in-memory kernel against testdata/json/listing.txt.
func TestJSONListing(t *testing.T) {
	f := jsonRun(t)
	var b strings.Builder
	step := func(args ...string) {
		b.WriteString(formatStep(scriptLine{args: args}, f.run(args, "")))
	}
	step("-L", "--json")
	step("-Ln", "--json", "--stats", "--exact")
	step("-L", "--json", "--nosort", "--rate", "--thresholds", "--persistent-conn", "--tun-info")
	step("-L", "--json", "-t", "10.0.0.1:80")
	step("-L", "--json", "-t", "vip1.example:http")
	step("-L", "--json", "-u", "10.0.0.2:53")
	step("-L", "--json", "-t", "[2001:db8::1]:443")
	step("-L", "--json", "-f", "42")
	step("-L", "--json", "-f", "43", "-6")
	step("-L", "--json", "-t", "10.0.0.9:80")
	step("-L", "--json", "-f", "99")
	step("-L", "--timeout", "--json")
	step("-L", "--daemon", "--json")
	step("-L", "--json", "--syncid", "3")
	runSetup(t, f, jsonDaemons)
	step("-L", "--daemon", "--json")
	// Parse errors: ipvsadm's first, then ours.
	step("-L", "--json", "-c", "--stats")
	step("-L", "--json", "--timeout", "--daemon")
	step("-A", "-t", "10.0.0.5:80", "--json")
	step("-S", "--json")
	step("-L", "--json", "--json")
	step("-L", "--json=yes")
	step("-L", "--sync")
	step("-R", "--dry-run")
	checkGolden(t, filepath.Join("testdata", "json", "listing.txt"), b.String())
}

// TestJSONEmpty: an empty table, no daemons.
func TestJSONEmpty(t *testing.T) {
	f := newFakeRun(t)
	var b strings.Builder
	for _, args := range [][]string{{"-L", "--json"}, {"-L", "--daemon", "--json"}, {"-L", "--timeout", "--json"}} {
		b.WriteString(formatStep(scriptLine{args: args}, f.run(args, "")))
	}
	want := `$ ipvsadm -L --json
{"version":"1.2.1","conn_table_size":4096,"services":[]}
[exit 0]
$ ipvsadm -L --daemon --json
{"daemons":[]}
[exit 0]
$ ipvsadm -L --timeout --json
{"timeouts":{"tcp":900,"tcpfin":120,"udp":300}}
[exit 0]
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Error(diff)
	}
}

// TestJSONConnections lists the captured connection table and the failures
// of the text listing.
func TestJSONConnections(t *testing.T) {
	f := newFakeRun(t)
	f.proc = filepath.Join("testdata", "proc")
	var b strings.Builder
	step := func(args ...string) {
		b.WriteString(formatStep(scriptLine{args: args}, f.run(args, "")))
	}
	step("-Lc", "--json")
	step("-L", "-c", "--json", "--persistent-conn", "-n")
	f.proc = t.TempDir()
	step("-Lc", "--json")
	if err := os.MkdirAll(filepath.Join(f.proc, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	conn := filepath.Join(f.proc, "net", "ip_vs_conn")
	if err := os.WriteFile(conn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	step("-Lc", "--json")
	head := "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
	if err := os.WriteFile(conn, []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	step("-Lc", "--json")
	bad := head + "TCP C0A80001 9C40 0A000001 0050 C0A80102 0050 ESTABLISHED     899\nTCP junk\n"
	if err := os.WriteFile(conn, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	step("-Lc", "--json")
	step("-Lc")
	checkGolden(t, filepath.Join("testdata", "json", "connections.txt"), b.String())
}

// TestJSONKernelErrors: the text listing's messages and statuses when the
// kernel fails, and what is left on stdout.
func TestJSONKernelErrors(t *testing.T) {
	var b strings.Builder
	// failDump makes the n-th IPVS dump fail with errno (0: the first).
	failDump := func(f *fakeRun, n int, errno unix.Errno) {
		dumps := 0
		f.k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
			if !r.IsIPVS() || !r.IsDump() {
				return ipvstest.Fault{}
			}
			dumps++
			if dumps-1 == n {
				return ipvstest.Fail(errno)
			}
			return ipvstest.Fault{}
		})
	}
	for _, tc := range []struct {
		dump  int
		errno unix.Errno
		args  []string
	}{
		{0, unix.ENOMEM, []string{"-L", "--json"}},            // the services
		{2, unix.ESRCH, []string{"-L", "--json"}},             // the second service's destinations
		{0, unix.ESRCH, []string{"-L", "-f", "42", "--json"}}, // a single service's destinations
		{0, unix.EPERM, []string{"-L", "--daemon", "--json"}},
		{0, unix.ESRCH, []string{"-L", "--json", "--stats"}},
	} {
		for _, args := range [][]string{tc.args, removeJSON(tc.args)} {
			f := jsonRun(t)
			failDump(f, tc.dump, tc.errno)
			fmt.Fprintf(&b, "# dump %d fails with %v\n", tc.dump, tc.errno)
			b.WriteString(formatStep(scriptLine{args: args}, f.run(args, "")))
		}
	}
	checkGolden(t, filepath.Join("testdata", "json", "kernel-errors.txt"), b.String())
}

func removeJSON(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "--json" {
			out = append(out, a)
		}
	}
	return out
}

// TestJSONRoundTrip decodes -L --json with encoding/json, turns it back
// into ipvs values and compares them with the in-memory kernel's state.
func TestJSONRoundTrip(t *testing.T) {
	f := jsonRun(t)
	for _, noSort := range []bool{false, true} {
		args := []string{"-L", "--json"}
		if noSort {
			args = append(args, "--nosort")
		}
		r := f.run(args, "")
		if r.exit != 0 || r.stderr != "" {
			t.Fatalf("%q: %+v", args, r)
		}
		var doc listing.JSONTable
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if dec.More() {
			t.Error("more than one document")
		}
		got, err := entriesFromJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		want := f.k.Services()
		if !noSort {
			listing.SortEntries(want)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
			cmp.AllowUnexported(ipvs.Netmask{})); diff != "" {
			t.Errorf("nosort %v: JSON and the kernel differ (-kernel +json):\n%s", noSort, diff)
		}
		if doc.Version != "1.2.1" || doc.ConnTableSize != 4096 {
			t.Errorf("header %q %d", doc.Version, doc.ConnTableSize)
		}
	}

	var tdoc listing.JSONTimeoutsDocument
	decodeRun(t, f, &tdoc, "-L", "--timeout", "--json")
	kt := f.k.Timeouts()
	if tdoc.Timeouts != (listing.JSONTimeouts{TCP: uint32(kt.TCP / time.Second), TCPFin: uint32(kt.TCPFin / time.Second),
		UDP: uint32(kt.UDP / time.Second)}) {
		t.Errorf("timeouts %+v, kernel %+v", tdoc.Timeouts, kt)
	}
	runSetup(t, f, jsonDaemons)
	var ddoc listing.JSONDaemonsDocument
	decodeRun(t, f, &ddoc, "-L", "--daemon", "--json")
	daemons := daemonsFromJSON(t, ddoc)
	if diff := cmp.Diff(f.k.Daemons(), daemons, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("daemons (-kernel +json):\n%s", diff)
	}
}

func decodeRun(t *testing.T, f *fakeRun, v any, args ...string) {
	t.Helper()
	r := f.run(args, "")
	if r.exit != 0 || r.stderr != "" {
		t.Fatalf("%q: %+v", args, r)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
}

// entriesFromJSON turns a decoded listing back into ipvs values.
func entriesFromJSON(doc listing.JSONTable) ([]ipvs.ServiceEntry, error) {
	var out []ipvs.ServiceEntry
	for _, s := range doc.Services {
		svc := ipvs.Service{FWMark: s.FWMark, Scheduler: s.Scheduler, Flags: ipvs.ServiceFlags(s.Flags),
			Timeout: s.Timeout, PEName: s.PE, Stats: statsFromJSON(s.Stats, s.Rates)}
		switch s.Family {
		case "IPv4":
			svc.Family = ipvs.IPv4
		case "IPv6":
			svc.Family = ipvs.IPv6
		default:
			return nil, fmt.Errorf("family %q", s.Family)
		}
		if (s.FWMark != 0) != (s.Protocol == nil) || (s.Protocol == nil) != (s.Address == nil) || (s.Address == nil) != (s.Port == nil) {
			return nil, fmt.Errorf("%+v: protocol, address and port must be null exactly for fwmark services", s)
		}
		if s.Protocol != nil {
			p, ok := map[string]ipvs.Protocol{"TCP": ipvs.TCP, "UDP": ipvs.UDP, "SCTP": ipvs.SCTP}[*s.Protocol]
			if !ok {
				return nil, fmt.Errorf("protocol %q", *s.Protocol)
			}
			a, err := netip.ParseAddr(*s.Address)
			if err != nil {
				return nil, err
			}
			svc.Protocol, svc.Addr, svc.Port = p, a, *s.Port
		}
		m, err := netip.ParseAddr(s.Netmask)
		if err != nil {
			return nil, err
		}
		if svc.Family == ipvs.IPv6 {
			bits := 0
			for _, c := range m.As16() {
				for ; c&0x80 != 0; c <<= 1 {
					bits++
				}
			}
			svc.Netmask = ipvs.IPv6Prefix(bits)
		} else if m.Is4() {
			b := m.As4()
			svc.Netmask = ipvs.IPv4NetmaskBits(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		} else {
			return nil, fmt.Errorf("netmask %v is not IPv4", m)
		}
		if s.Persistent != (svc.Flags&ipvs.FlagPersistent != 0) || s.OnePacket != (svc.Flags&ipvs.FlagOnePacket != 0) {
			return nil, fmt.Errorf("%+v: persistent/one_packet disagree with flags", s)
		}
		var sched ipvs.ServiceFlags
		for _, n := range s.SchedFlags {
			fl, err := ipvs.ParseSchedFlag(n, svc.Scheduler)
			if err != nil {
				return nil, fmt.Errorf("sched flag %q: %v", n, err)
			}
			sched |= fl
		}
		if sched != svc.Flags&ipvs.FlagSchedMask {
			return nil, fmt.Errorf("%+v: sched_flags disagree with flags", s)
		}
		e := ipvs.ServiceEntry{Service: svc}
		for _, d := range s.Destinations {
			a, err := netip.ParseAddr(d.Address)
			if err != nil {
				return nil, err
			}
			if (d.Family == "IPv4") != a.Is4() {
				return nil, fmt.Errorf("%+v: family", d)
			}
			fwd := map[string]ipvs.ForwardMethod{"masq": ipvs.Masquerade, "local": ipvs.Local, "tunnel": ipvs.Tunnel,
				"route": ipvs.DirectRoute}
			m, ok := fwd[d.Forward]
			if !ok {
				return nil, fmt.Errorf("forward %q", d.Forward)
			}
			pd := ipvs.Destination{Addr: a, Port: d.Port, ForwardMethod: m, Weight: d.Weight,
				UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold, ActiveConns: d.ActiveConns,
				InactiveConns: d.InactiveConns, PersistentConns: d.PersistentConns, Stats: statsFromJSON(d.Stats, d.Rates)}
			if (d.Tunnel != nil) != (m == ipvs.Tunnel) {
				return nil, fmt.Errorf("%+v: tunnel must be set exactly for tunnel destinations", d)
			}
			if d.Tunnel != nil {
				tt, err := ipvs.ParseTunnelType(d.Tunnel.Type)
				if err != nil {
					return nil, err
				}
				cs, ok := map[string]ipvs.TunnelFlags{"nocsum": 0, "csum": ipvs.TunnelCsum, "remcsum": ipvs.TunnelRemCsum}[d.Tunnel.Csum]
				if !ok {
					return nil, fmt.Errorf("csum %q", d.Tunnel.Csum)
				}
				pd.TunnelType, pd.TunnelPort, pd.TunnelFlags = tt, d.Tunnel.Port, cs
			}
			e.Destinations = append(e.Destinations, pd)
		}
		out = append(out, e)
	}
	return out, nil
}

func statsFromJSON(s listing.JSONStats, r listing.JSONRates) ipvs.Stats {
	return ipvs.Stats{Conns: s.Conns, InPkts: s.InPkts, OutPkts: s.OutPkts, InBytes: s.InBytes, OutBytes: s.OutBytes,
		CPS: r.CPS, InPPS: r.InPPS, OutPPS: r.OutPPS, InBPS: r.InBPS, OutBPS: r.OutBPS}
}

// daemonsFromJSON turns a --daemon --json document back into library values.
func daemonsFromJSON(t *testing.T, doc listing.JSONDaemonsDocument) []ipvs.Daemon {
	t.Helper()
	var out []ipvs.Daemon
	for _, d := range doc.Daemons {
		st, ok := map[string]ipvs.DaemonState{"master": ipvs.Master, "backup": ipvs.Backup}[d.State]
		if !ok {
			t.Fatalf("daemon state %q", d.State)
		}
		pd := ipvs.Daemon{State: st, Interface: d.McastInterface, SyncID: d.SyncID, MaxLen: d.SyncMaxLen,
			Port: d.McastPort, TTL: d.McastTTL}
		if d.McastGroup != nil {
			pd.Group = netip.MustParseAddr(*d.McastGroup)
		}
		out = append(out, pd)
	}
	return out
}
