package ipvs

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var connCmpOpts = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

func TestReadConnections(t *testing.T) {
	f, err := os.Open("testdata/conns/ip_vs_conn")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadConnections(f)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	want := []Connection{
		{Protocol: "TCP", Client: ap("192.168.0.1:40000"), Virtual: ap("10.0.0.1:80"), Destination: ap("192.168.1.2:80"),
			State: "ESTABLISHED", Expires: 899 * time.Second},
		{Protocol: "UDP", Client: ap("127.0.0.1:54321"), Virtual: ap("10.0.0.2:53"), Destination: ap("127.0.0.1:53"),
			State: "UDP", Expires: 299 * time.Second},
		{Protocol: "SCTP", Client: ap("192.168.0.1:3000"), Virtual: ap("10.0.0.1:3000"), Destination: ap("192.168.1.2:3000"),
			State: "ESTABLISHED", Expires: 7200 * time.Second},
		{Protocol: "UDP", Client: ap("192.168.0.5:5060"), Virtual: ap("10.0.0.2:5060"), Destination: ap("192.168.1.4:5060"),
			State: "UDP", Expires: 180 * time.Second, PEName: "sip", PEData: "3848276298@10.0.0.5"},
		{Protocol: "TCP", Client: ap("[2001:db8::1]:50000"), Virtual: ap("[2001:db8::aa]:80"), Destination: ap("[2001:db8::bb]:8080"),
			State: "SYN_RECV", Expires: 5 * time.Second},
		{Protocol: "TCP", Client: ap("[2001:db8::1]:50001"), Virtual: ap("[2001:db8::aa]:80"), Destination: ap("192.168.1.9:80"),
			State: "NONE", Expires: 59 * time.Second},
	}
	if diff := cmp.Diff(want, got, connCmpOpts); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
}

func TestReadConnectionsMappedStaysIPv6(t *testing.T) {
	text := "header\nTCP 0000:0000:0000:0000:0000:ffff:0a00:0001 0050 0000:0000:0000:0000:0000:ffff:0a00:0002 0050 0A000003 0050 NONE 1\n"
	got, err := ReadConnections(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if c := got[0].Client.Addr(); !c.Is4In6() {
		t.Errorf("client %v: want the 16-byte IPv4-mapped form", c)
	}
	if d := got[0].Destination.Addr(); !d.Is4() {
		t.Errorf("destination %v: want IPv4", d)
	}
}

func TestReadConnectionsEmptyTable(t *testing.T) {
	got, err := ReadConnections(strings.NewReader("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"))
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want no connections and no error", got, err)
	}
}

func TestReadConnectionsErrors(t *testing.T) {
	const header = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
	tests := []struct {
		name, text string
		want       error
	}{
		{"empty file", "", ErrConnUnexpectedInput},
		{"too few fields", header + "TCP C0A80001 9C40 0A000001 0050 C0A80102 0050 ESTABLISHED\n", ErrConnMalformed},
		{"bad address", header + "TCP C0A8000G 9C40 0A000001 0050 C0A80102 0050 ESTABLISHED 1\n", ErrConnMalformed},
		{"bad port", header + "TCP C0A80001 19C40 0A000001 0050 C0A80102 0050 ESTABLISHED 1\n", ErrConnMalformed},
		{"bad expiry", header + "TCP C0A80001 9C40 0A000001 0050 C0A80102 0050 ESTABLISHED -1\n", ErrConnMalformed},
		{"bad IPv6", header + "TCP 2001:db8::1::2 9C40 0A000001 0050 C0A80102 0050 ESTABLISHED 1\n", ErrConnMalformed},
	}
	for _, tt := range tests {
		_, err := ReadConnections(strings.NewReader(tt.text))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// The line number points at the bad line.
	_, err := ReadConnections(strings.NewReader(header + "\nTCP x\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want it to name line 3", err)
	}
}

func TestConnectionsFromProc(t *testing.T) {
	root := t.TempDir()
	if _, err := ConnectionsFromProc(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ConnProcFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ConnectionsFromProc(root); !errors.Is(err, ErrConnUnexpectedInput) {
		t.Errorf("empty file: err = %v, want ErrConnUnexpectedInput", err)
	}
	data, err := os.ReadFile("testdata/conns/ip_vs_conn")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ConnProcFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	conns, err := ConnectionsFromProc(root)
	if err != nil || len(conns) != 6 {
		t.Errorf("got %d connections, %v; want 6", len(conns), err)
	}
}

func FuzzReadConnections(f *testing.F) {
	if data, err := os.ReadFile("testdata/conns/ip_vs_conn"); err == nil {
		f.Add(string(data))
	}
	f.Add("")
	f.Add("h\nTCP 1 2 3 4 5 6 S 7 pe data extra\n")
	f.Add("h\nTCP :: 0 ::ffff:1.2.3.4 0 1.2.3.4 0 S 4294967295\n")
	f.Fuzz(func(t *testing.T, text string) {
		conns, err := ReadConnections(strings.NewReader(text))
		if err != nil {
			if !errors.Is(err, ErrConnUnexpectedInput) && !errors.Is(err, ErrConnMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, c := range conns {
			if c.Protocol == "" || c.State == "" || !c.Client.IsValid() || !c.Virtual.IsValid() || !c.Destination.IsValid() {
				t.Fatalf("incomplete connection %+v from %q", c, text)
			}
		}
	})
}

func TestReadConnectionsLongLine(t *testing.T) {
	text := "header\nTCP " + strings.Repeat("x", 100000) + "\n"
	if _, err := ReadConnections(strings.NewReader(text)); !errors.Is(err, ErrConnMalformed) {
		t.Errorf("err = %v, want ErrConnMalformed", err)
	}
}
