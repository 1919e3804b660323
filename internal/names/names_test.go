package names

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

func testResolver(t testing.TB) *Resolver {
	t.Helper()
	return &Resolver{HostsPath: "testdata/hosts", ServicesPath: "testdata/services"}
}

func TestNumericHost(t *testing.T) {
	// Expected texts were produced by glibc 2.36's inet_ntop.
	tests := map[string]string{
		"10.0.0.1":          "10.0.0.1",
		"::":                "::",
		"::1":               "::1",
		"::2":               "::2",
		"::1.2.3.4":         "::1.2.3.4",
		"::0.1.0.0":         "::0.1.0.0",
		"::ffff:1.2.3.4":    "::ffff:1.2.3.4",
		"::ffff:0:1.2.3.4":  "::ffff:0:102:304",
		"1:0:1:0:0:1:0:0":   "1:0:1::1:0:0",
		"0:0:1::":           "0:0:1::",
		"1::":               "1::",
		"::1:0:0:0:1":       "::1:0:0:0:1",
		"1:0:0:2:0:0:3:4":   "1::2:0:0:3:4",
		"2001:db8::1":       "2001:db8::1",
		"2001:DB8:0:0:1::1": "2001:db8::1:0:0:1",
		"1:2:3:4:5:6:7:8":   "1:2:3:4:5:6:7:8",
		"1:2:3:0:5:6:7:8":   "1:2:3:0:5:6:7:8",
		"fe80::1%eth0":      "fe80::1",
	}
	for in, want := range tests {
		if got := NumericHost(netip.MustParseAddr(in)); got != want {
			t.Errorf("NumericHost(%s) = %q, want %q", in, got, want)
		}
	}
	if got := NumericHost(netip.Addr{}); got != "0.0.0.0" {
		t.Errorf("NumericHost(zero) = %q", got)
	}
}

func TestLookupHost(t *testing.T) {
	r := testResolver(t)
	tests := []struct {
		addr string
		name string
		ok   bool
	}{
		{"10.0.0.1", "web1.example", true},
		{"192.168.1.2", "real2.example", true},
		{"127.0.0.1", "localhost", true},
		{"::1", "ip6-loopback", true},
		{"10.9.9.9", "mapped.example", true},        // IPv4-mapped line serves IPv4
		{"::ffff:10.9.9.9", "mapped.example", true}, // and itself
		{"::ffff:10.0.0.1", "", false},              // IPv4 lines never serve IPv6
		{"2001:db8::1", "short6.example", true},
		{"2001:db8::2", "upper6", true},
		{"10.0.0.6", "", true}, // address-only line: empty h_name
		{"10.0.0.10", "", false},
		{"10.1.0.0", "", false}, // "10.1" is not a strict dotted quad
		{"10.0.0.99", "", false},
	}
	for _, tt := range tests {
		name, ok := r.LookupHost(netip.MustParseAddr(tt.addr))
		if name != tt.name || ok != tt.ok {
			t.Errorf("LookupHost(%s) = %q, %v; want %q, %v", tt.addr, name, ok, tt.name, tt.ok)
		}
	}
}

func TestLoopbackMapsForIPv4Only(t *testing.T) {
	// glibc lets a ::1 line answer for 127.0.0.1, but only when no IPv4
	// line came first.
	r := &Resolver{HostsPath: writeTemp(t, "::1 v6loop\n127.0.0.1 localhost\n")}
	if name, _ := r.LookupHost(netip.MustParseAddr("127.0.0.1")); name != "v6loop" {
		t.Errorf("127.0.0.1 = %q, want v6loop", name)
	}
}

func TestDNSStep(t *testing.T) {
	calls := 0
	r := testResolver(t)
	r.LookupPTR = func(a netip.Addr) (string, bool) {
		calls++
		if a == netip.MustParseAddr("10.7.7.7") {
			return "dns.example.", true
		}
		return "", false
	}
	for range 3 {
		if got := r.HostName(netip.MustParseAddr("10.7.7.7")); got != "dns.example" {
			t.Fatalf("HostName = %q, want dns.example", got)
		}
		if got := r.HostName(netip.MustParseAddr("10.7.7.8")); got != "10.7.7.8" {
			t.Fatalf("HostName = %q, want 10.7.7.8", got)
		}
		if got := r.HostName(netip.MustParseAddr("10.0.0.1")); got != "web1.example" {
			t.Fatalf("HostName = %q, want web1.example (hosts before DNS)", got)
		}
	}
	if calls != 2 {
		t.Errorf("DNS asked %d times, want 2 (answers are cached)", calls)
	}
}

func TestPorts(t *testing.T) {
	r := testResolver(t)
	tests := []struct {
		port  uint16
		proto string
		want  string
	}{
		{80, "tcp", "http"},
		{80, "udp", "80"},
		{53, "udp", "domain"},
		{443, "udp", "https"},
		{5060, "udp", "sip"},
		{5672, "sctp", "amqp"},
		{5672, "tcp", "5672"},
		{80, "", "80"},
		{0, "tcp", "0"},
		{12, "tcp", "12"},
	}
	for _, tt := range tests {
		if got := r.PortName(tt.port, tt.proto); got != tt.want {
			t.Errorf("PortName(%d, %q) = %q, want %q", tt.port, tt.proto, got, tt.want)
		}
	}

	names := []struct {
		name, proto string
		port        uint16
		ok          bool
	}{
		{"http", "tcp", 80, true},
		{"www", "tcp", 80, true},
		{"alt-http", "tcp", 80, true},
		{"http", "udp", 0, false},
		{"HTTP", "tcp", 0, false},
		{"sip", "udp", 5060, true},
		{"broken", "tcp", 0, false},
	}
	for _, tt := range names {
		port, ok := r.LookupService(tt.name, tt.proto)
		if port != tt.port || ok != tt.ok {
			t.Errorf("LookupService(%q, %q) = %d, %v; want %d, %v", tt.name, tt.proto, port, ok, tt.port, tt.ok)
		}
	}
}

func TestLookupIPv4(t *testing.T) {
	r := testResolver(t)
	files := testResolver(t)
	// As Go's resolver does, the stand-in for DNS reads the hosts file
	// too, ignoring a final dot; glibc's files backend compares names
	// exactly, and only DNS may answer for "web1.".
	r.LookupA = func(name string) (netip.Addr, bool) {
		name = strings.TrimSuffix(name, ".")
		if name == "dns.example" {
			return netip.MustParseAddr("10.8.8.8"), true
		}
		return files.LookupIPv4(name)
	}
	tests := []struct {
		name string
		want string
	}{
		{"web1", "10.0.0.1"},
		{"WEB1.example", "10.0.0.1"},
		{"mapped.example", "10.9.9.9"},
		{"dns.example", "10.8.8.8"},
		{"dns.example.", "10.8.8.8"},
		{"web1.", ""},
		{"WEB1.example.", ""},
		{"web1..", ""},
		{"short6.example", ""}, // IPv6 only: gethostbyname wants IPv4
		{"nowhere", ""},
	}
	for _, tt := range tests {
		a, ok := r.LookupIPv4(tt.name)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("LookupIPv4(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAddrPort(t *testing.T) {
	r := testResolver(t)
	tests := []struct {
		addr    string
		port    uint16
		proto   string
		numeric bool
		want    string
	}{
		{"10.0.0.1", 80, "tcp", true, "10.0.0.1:80"},
		{"10.0.0.1", 80, "tcp", false, "web1.example:http"},
		{"10.0.0.1", 80, "udp", false, "web1.example:80"},
		{"10.0.0.1", 80, "", false, "web1.example:80"},
		{"2001:db8::1", 443, "tcp", false, "[short6.example]:https"},
		{"2001:db8::1", 443, "tcp", true, "[2001:db8::1]:443"},
		{"::ffff:1.2.3.4", 0, "tcp", true, "[::ffff:1.2.3.4]:0"},
		{"10.0.0.6", 80, "tcp", false, ":http"},
		{"10.0.0.44", 8080, "tcp", false, "a-very-long-host-name-that-goes-on.and-on.example.com:8080"},
		// 59-byte cap: the port, and even the bracket, can be lost.
		{"2001:db8::44", 8080, "tcp", false, "[a-very-long-ipv6-host-name-that-goes-on.and-on.example.com"},
		{"2001:db8:1234:5678:9abc:def0:1234:5678", 65535, "tcp", true, "[2001:db8:1234:5678:9abc:def0:1234:5678]:65535"},
	}
	for _, tt := range tests {
		got := r.AddrPort(netip.MustParseAddr(tt.addr), tt.port, tt.proto, tt.numeric)
		if got != tt.want {
			t.Errorf("AddrPort(%s, %d, %q, %v) = %q, want %q", tt.addr, tt.port, tt.proto, tt.numeric, got, tt.want)
		}
		if len(got) > AddrPortMax {
			t.Errorf("AddrPort(%s) is %d bytes long", tt.addr, len(got))
		}
	}
	var nilResolver *Resolver
	if got := nilResolver.AddrPort(netip.Addr{}, 7, "tcp", false); got != "0.0.0.0:7" {
		t.Errorf("nil resolver, zero addr = %q", got)
	}
}

func TestMissingTables(t *testing.T) {
	r := &Resolver{HostsPath: "testdata/does-not-exist", ServicesPath: ""}
	if got := r.AddrPort(netip.MustParseAddr("10.0.0.1"), 80, "tcp", false); got != "10.0.0.1:80" {
		t.Errorf("got %q", got)
	}
}

func writeTemp(t *testing.T, text string) string {
	t.Helper()
	path := t.TempDir() + "/hosts"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLookupIPv4Literals: gethostbyname answers a name with a colon (an
// IPv6 literal) itself and, asked for IPv4, finds nothing; Go's resolver
// would turn "::" into 0.0.0.0 and "::ffff:10.0.0.1" into 10.0.0.1.
func TestLookupIPv4Literals(t *testing.T) {
	r := testResolver(t)
	r.LookupA = systemLookupA // answers IP literals without asking anyone
	for _, name := range []string{"::", "::ffff:10.0.0.1", "::1", "0:0::0", ":", "2001:db8::1"} {
		if a, ok := r.LookupIPv4(name); ok {
			t.Errorf("LookupIPv4(%q) = %v, want nothing", name, a)
		}
	}
}
