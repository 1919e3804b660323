package listing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goipvsadm/goipvsadm/internal/listing/testtable"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
)

// The tests hold JSONWriter to encoding/json: the documents are built a
// second time, independently, as values of the json_types.go types and
// marshalled, and the bytes must be equal.

func strPtr(s string) *string { return &s }

// refService is the JSONService for a service, built without the writer's
// helpers.
func refService(svc ipvs.Service, dests []ipvs.Destination) JSONService {
	k := svc.Key()
	out := JSONService{
		Family: map[ipvs.Family]string{ipvs.IPv4: "IPv4", ipvs.IPv6: "IPv6"}[k.Family],
		FWMark: k.FWMark, Scheduler: svc.Scheduler, Flags: uint32(svc.Flags),
		Persistent: svc.Flags&1 != 0, OnePacket: svc.Flags&4 != 0, SchedFlags: []string{},
		Timeout: svc.Timeout, PE: svc.PEName,
		Stats:        refStats(svc.Stats),
		Rates:        refRates(svc.Stats),
		Destinations: []JSONDestination{},
	}
	if k.FWMark == 0 {
		p := map[ipvs.Protocol]string{6: "TCP", 17: "UDP", 132: "SCTP"}[k.Protocol]
		if p == "" {
			p = fmt.Sprint(uint16(k.Protocol))
		}
		a := k.Addr
		if k.Family == ipvs.IPv4 {
			a = a.Unmap()
		}
		port := k.Port
		out.Protocol, out.Address, out.Port = &p, strPtr(a.String()), &port
	}
	names := map[string][3]string{"sh": {"sh-fallback", "sh-port", "flag-3"}, "mh": {"mh-fallback", "mh-port", "flag-3"}}
	n, ok := names[svc.Scheduler]
	if !ok {
		n = [3]string{"flag-1", "flag-2", "flag-3"}
	}
	for i := range 3 {
		if svc.Flags&(8<<i) != 0 {
			out.SchedFlags = append(out.SchedFlags, n[i])
		}
	}
	if k.Family == ipvs.IPv6 {
		bits := int(svc.Netmask.Value(ipvs.IPv6))
		var m [16]byte
		for i := range bits {
			m[i/8] |= 0x80 >> (i % 8)
		}
		out.Netmask = netip.AddrFrom16(m).String()
	} else {
		v := svc.Netmask.Value(ipvs.IPv4)
		out.Netmask = fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&255, v>>8&255, v&255)
	}
	for _, d := range dests {
		jd := JSONDestination{
			Family: map[bool]string{true: "IPv4", false: "IPv6"}[d.Addr.Is4()], Address: d.Addr.String(), Port: d.Port,
			Forward: map[ipvs.ForwardMethod]string{ipvs.Masquerade: "masq", ipvs.Local: "local", ipvs.Tunnel: "tunnel", ipvs.DirectRoute: "route"}[d.ForwardMethod],
			Weight:  d.Weight, UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold,
			ActiveConns: d.ActiveConns, InactiveConns: d.InactiveConns, PersistentConns: d.PersistentConns,
			Stats: refStats(d.Stats), Rates: refRates(d.Stats),
		}
		if jd.Forward == "" {
			jd.Forward = fmt.Sprint(uint32(d.ForwardMethod))
		}
		if d.ForwardMethod == ipvs.Tunnel {
			tt := map[ipvs.TunnelType]string{0: "ipip", 1: "gue", 2: "gre"}[d.TunnelType]
			if tt == "" {
				tt = fmt.Sprint(uint8(d.TunnelType))
			}
			cs := map[ipvs.TunnelFlags]string{0: "nocsum", 1: "csum", 2: "remcsum"}[d.TunnelFlags]
			if cs == "" {
				cs = fmt.Sprintf("%#x", uint16(d.TunnelFlags))
			}
			jd.Tunnel = &JSONTunnel{Type: tt, Port: d.TunnelPort, Csum: cs}
		}
		out.Destinations = append(out.Destinations, jd)
	}
	return out
}

func refStats(s ipvs.Stats) JSONStats {
	return JSONStats{Conns: s.Conns, InPkts: s.InPkts, OutPkts: s.OutPkts, InBytes: s.InBytes, OutBytes: s.OutBytes}
}

func refRates(s ipvs.Stats) JSONRates {
	return JSONRates{CPS: s.CPS, InPPS: s.InPPS, OutPPS: s.OutPPS, InBPS: s.InBPS, OutBPS: s.OutBPS}
}

// marshal is encoding/json's document for v: HTML escaping off, a final
// newline.
func marshal(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func jsonTable(noSort bool, entries []ipvs.ServiceEntry) string {
	var buf bytes.Buffer
	w := NewJSONWriter(&buf, noSort)
	w.Table(testtable.Info, entries)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.String()
}

// refTable is the expected full listing; entries must be in final order.
func refTable(t testing.TB, entries []ipvs.ServiceEntry) string {
	doc := JSONTable{Version: "1.2.1", ConnTableSize: 4096, Services: []JSONService{}}
	for _, e := range entries {
		doc.Services = append(doc.Services, refService(e.Service, e.Destinations))
	}
	return marshal(t, doc)
}

func cloneEntries(src []ipvs.ServiceEntry) []ipvs.ServiceEntry {
	out := make([]ipvs.ServiceEntry, len(src))
	for i, e := range src {
		out[i] = ipvs.ServiceEntry{Service: e.Service, Destinations: append([]ipvs.Destination(nil), e.Destinations...)}
	}
	return out
}

func checkJSONTable(t *testing.T, name string, entries []ipvs.ServiceEntry) {
	t.Helper()
	for _, noSort := range []bool{false, true} {
		want := cloneEntries(entries)
		if !noSort {
			SortEntries(want)
		}
		got := jsonTable(noSort, cloneEntries(entries))
		if w := refTable(t, want); got != w {
			t.Errorf("%s (nosort %v): JSONWriter and encoding/json differ:\n%s", name, noSort, cmp.Diff(w, got))
		}
		var doc JSONTable
		dec := json.NewDecoder(strings.NewReader(got))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("%s: decoding: %v", name, err)
		}
	}
}

func TestJSONTableMatchesEncodingJSON(t *testing.T) {
	checkJSONTable(t, "capture", testtable.Capture(true))
	checkJSONTable(t, "edge", edgeTable())
	checkJSONTable(t, "empty", nil)
	checkJSONTable(t, "big", bigTable()[:200])
}

// randomEntry is a service with random values everywhere, names included.
func randomEntry(rng *rand.Rand) ipvs.ServiceEntry {
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	randStats := func() ipvs.Stats {
		u := func() uint64 { return rng.Uint64() >> rng.IntN(64) }
		return ipvs.Stats{Conns: u(), InPkts: u(), OutPkts: u(), InBytes: u(), OutBytes: u(),
			CPS: u(), InPPS: u(), OutPPS: u(), InBPS: u(), OutBPS: u()}
	}
	randString := func() string {
		alphabet := []string{"a", "rr", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "\xff", "<&>", "😀", "\xe2\x80"}
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	v6 := rng.IntN(2) == 0
	fam := ipvs.IPv4
	if v6 {
		fam = ipvs.IPv6
	}
	svc := ipvs.Service{Family: fam, Scheduler: []string{"rr", "sh", "mh", "wlc"}[rng.IntN(4)],
		Flags: ipvs.ServiceFlags(rng.IntN(64)) &^ 2, Timeout: rng.Uint32(), PEName: randString(), Stats: randStats()}
	if rng.IntN(5) == 0 {
		svc.Scheduler = randString()
	}
	if rng.IntN(4) == 0 {
		svc.FWMark = rng.Uint32() | 1
	} else {
		svc.Protocol = []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP, 50}[rng.IntN(4)]
		svc.Addr, svc.Port = randAddr(v6), uint16(rng.IntN(65536))
	}
	if v6 {
		svc.Netmask = ipvs.IPv6Prefix(rng.IntN(129))
	} else {
		svc.Netmask = ipvs.IPv4NetmaskBits(rng.Uint32())
	}
	e := ipvs.ServiceEntry{Service: svc}
	for range rng.IntN(5) {
		e.Destinations = append(e.Destinations, ipvs.Destination{
			Addr: randAddr(rng.IntN(2) == 0), Port: uint16(rng.IntN(65536)),
			ForwardMethod: ipvs.ForwardMethod(rng.IntN(5)), Weight: rng.Uint32(),
			UpperThreshold: rng.Uint32(), LowerThreshold: rng.Uint32(),
			TunnelType: ipvs.TunnelType(rng.IntN(4)), TunnelPort: uint16(rng.IntN(65536)),
			TunnelFlags: ipvs.TunnelFlags(rng.IntN(4)),
			ActiveConns: rng.Uint32(), InactiveConns: rng.Uint32(), PersistentConns: rng.Uint32(),
			Stats: randStats(),
		})
	}
	return e
}

func TestJSONRandomTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		var entries []ipvs.ServiceEntry
		for range rng.IntN(6) {
			entries = append(entries, randomEntry(rng))
		}
		checkJSONTable(t, fmt.Sprintf("random %d", i), entries)
	}
}

func TestJSONSingleService(t *testing.T) {
	for _, e := range edgeTable() {
		var buf bytes.Buffer
		w := NewJSONWriter(&buf, false)
		w.SingleService(&e.Service, append([]ipvs.Destination(nil), e.Destinations...))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		dests := append([]ipvs.Destination(nil), e.Destinations...)
		SortDestinations(dests)
		want := marshal(t, JSONServiceDocument{Service: refService(e.Service, dests)})
		if buf.String() != want {
			t.Errorf("%v:\n%s", e.Service.Key(), cmp.Diff(want, buf.String()))
		}
	}
}

func TestJSONTimeoutsAndDaemons(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSONWriter(&buf, false)
	w.Timeouts(ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 4294967295 * time.Second})
	w.Daemons(nil)
	w.Daemons([]ipvs.Daemon{
		{State: ipvs.Master, Interface: "eth0", SyncID: 1, MaxLen: 1472, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1},
		{State: 0, Interface: "skipped"},
		{State: ipvs.Backup, Interface: "e\"th1", SyncID: 255},
		{State: ipvs.Backup, Interface: "eth2", Group: netip.MustParseAddr("ff02::1")},
	})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	g1, g2 := "224.0.0.81", "ff02::1"
	want := marshal(t, JSONTimeoutsDocument{Timeouts: JSONTimeouts{TCP: 900, TCPFin: 120, UDP: 4294967295}}) +
		marshal(t, JSONDaemonsDocument{Daemons: []JSONDaemon{}}) +
		marshal(t, JSONDaemonsDocument{Daemons: []JSONDaemon{
			{State: "master", McastInterface: "eth0", SyncID: 1, SyncMaxLen: 1472, McastGroup: &g1, McastPort: 8848, McastTTL: 1},
			{State: "backup", McastInterface: "e\"th1", SyncID: 255},
			{State: "backup", McastInterface: "eth2", McastGroup: &g2},
		}})
	if buf.String() != want {
		t.Error(cmp.Diff(want, buf.String()))
	}
}

func TestJSONConnections(t *testing.T) {
	conns := readConns(t)
	conns = append(conns, ipvs.Connection{Protocol: "IP_50", State: "NONE", PEName: "sip", PEData: "call\"id\x01\xff",
		Client: netip.MustParseAddrPort("[::ffff:1.2.3.4]:1"), Expires: 61 * time.Second})
	var buf bytes.Buffer
	w := NewJSONWriter(&buf, false)
	for _, cs := range [][]ipvs.Connection{nil, conns} {
		w.BeginConnections()
		for i := range cs {
			w.Connection(&cs[i])
		}
		w.EndConnections()
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ep := func(ap netip.AddrPort) JSONEndpoint {
		a := ""
		if ap.Addr().IsValid() {
			a = ap.Addr().String()
		}
		return JSONEndpoint{Address: a, Port: ap.Port()}
	}
	doc := JSONConnections{Connections: []JSONConnection{}}
	for _, c := range conns {
		doc.Connections = append(doc.Connections, JSONConnection{Protocol: c.Protocol, Client: ep(c.Client),
			Virtual: ep(c.Virtual), Destination: ep(c.Destination), State: c.State,
			Expires: uint32(c.Expires / time.Second), PEName: c.PEName, PEData: c.PEData})
	}
	want := marshal(t, JSONConnections{Connections: []JSONConnection{}}) + marshal(t, doc)
	if buf.String() != want {
		t.Error(cmp.Diff(want, buf.String()))
	}
	if !strings.Contains(want, `"client":{"address":"::ffff:1.2.3.4","port":1}`) {
		t.Errorf("an IPv4-mapped client is not kept in its IPv6 form:\n%s", want)
	}
}

// TestJSONGolden pins the documents of the capture table, so that a change
// of the schema shows up in review.
func TestJSONGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString(jsonTable(false, testtable.Capture(true)))
	b.WriteString(jsonTable(false, edgeTable()))
	path := filepath.Join("testdata", "json", "tables.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	compareText(t, path, string(want), b.String())
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "\"\\\n\r\t\b\f\x00\x1f\x7f", "\xff\xfe", "é\u2028\u2029😀", "\xe2\x80", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendJSONString(nil, s))
		want := strings.TrimSuffix(marshal(t, s), "\n")
		var back, wantBack string
		if err := json.Unmarshal([]byte(got), &back); err != nil || (utf8.ValidString(s) && back != s) {
			t.Errorf("%q: decodes to %q, %v", s, back, err)
		}
		switch {
		case utf8.ValidString(s):
			if got != want {
				t.Errorf("%q: got %s, want %s", s, got, want)
			}
		case !utf8.ValidString(got):
			t.Errorf("%q: got %q, not UTF-8", s, got)
		default:
			// Invalid UTF-8 becomes U+FFFD: Go 1.26's encoding/json writes
			// the character, Go 1.27's its \ufffd escape; both decode the same.
			if err := json.Unmarshal([]byte(want), &wantBack); err != nil || back != wantBack {
				t.Errorf("%q: decodes to %q, encoding/json's %s to %q", s, back, want, wantBack)
			}
		}
	})
}

// TestJSONMemory: the 10,000 × 10 table is written with bounded memory
// (the writer's buffers, not the document).
func TestJSONMemory(t *testing.T) {
	entries := bigTable()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := NewJSONWriter(io.Discard, false)
	w.Table(testtable.Info, entries)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("writing 10,000 services × 10 allocated %d bytes", alloc)
	}
}

func BenchmarkJSONTable(b *testing.B) {
	src := bigTable()
	entries := make([]ipvs.ServiceEntry, len(src))
	var n countingWriter
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		copy(entries, src)
		n = 0
		b.StartTimer()
		w := NewJSONWriter(&n, false)
		w.Table(testtable.Info, entries)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "bytes/doc")
}

// BenchmarkJSONTableEncodingJSON is the same document from encoding/json,
// for comparison.
func BenchmarkJSONTableEncodingJSON(b *testing.B) {
	src := bigTable()
	SortEntries(src)
	b.ReportAllocs()
	for b.Loop() {
		doc := JSONTable{Version: "1.2.1", ConnTableSize: 4096, Services: make([]JSONService, 0, len(src))}
		for _, e := range src {
			doc.Services = append(doc.Services, refService(e.Service, e.Destinations))
		}
		enc := json.NewEncoder(io.Discard)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
