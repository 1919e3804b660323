//go:build e2e

package main

// goipvsadm -L --json on a real kernel: after a few commands, every JSON
// form must describe exactly the state the ipvs library reads back.

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// decodeTool runs goipvsadm and decodes its one JSON document into v.
func decodeTool(t *testing.T, bin string, v any, args ...string) {
	t.Helper()
	r := runTool(t, bin, args, "")
	if r.exit != 0 || r.stderr != "" {
		t.Fatalf("%q: %+v", args, r)
	}
	if !strings.HasSuffix(r.stdout, "}\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("%q: not one document on one line:\n%s", args, r.stdout)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%q: %v\n%s", args, err, r.stdout)
	}
}

// kernelEntries reads the table through the ipvs library, sorted as
// ipvsadm sorts it.
func kernelEntries(t *testing.T, c *ipvs.Client) []ipvs.ServiceEntry {
	t.Helper()
	ctx := context.Background()
	svcs, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []ipvs.ServiceEntry
	for _, s := range svcs {
		d, err := c.Destinations(ctx, s.Key())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ipvs.ServiceEntry{Service: s, Destinations: d})
	}
	listing.SortEntries(out)
	return out
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestJSONOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	c := kernelClient(t)
	ctx := context.Background()

	lines, err := parseScript(jsonSetup)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if r := runTool(t, ours, l.args, ""); r.exit != 0 {
			t.Fatalf("%q: %+v", l.args, r)
		}
	}

	t.Run("table", func(t *testing.T) {
		want := kernelEntries(t, c)
		if len(want) != 7 {
			t.Fatalf("the kernel has %d services, want 7", len(want))
		}
		var doc listing.JSONTable
		decodeTool(t, ours, &doc, "-L", "--json")
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Version != info.Version.String() || doc.ConnTableSize != info.ConnTableSize {
			t.Errorf("header %q %d, kernel %v", doc.Version, doc.ConnTableSize, info)
		}
		got, err := entriesFromJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, addrCmp, cmp.AllowUnexported(ipvs.Netmask{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("-L --json and the kernel differ (-kernel +json):\n%s", diff)
		}

		// -L --json with a service: the same object.
		for i, e := range want {
			args := []string{"-L", "--json", "-n"}
			k := e.Service.Key()
			switch {
			case k.FWMark != 0:
				args = append(args, "-f", strconv.FormatUint(uint64(k.FWMark), 10))
				if k.Family == ipvs.IPv6 {
					args = append(args, "-6")
				}
			default:
				flag := map[ipvs.Protocol]string{ipvs.TCP: "-t", ipvs.UDP: "-u", ipvs.SCTP: "--sctp-service"}[k.Protocol]
				args = append(args, flag, netip.AddrPortFrom(k.Addr, k.Port).String())
			}
			var one listing.JSONServiceDocument
			decodeTool(t, ours, &one, args...)
			if diff := cmp.Diff(doc.Services[i], one.Service); diff != "" {
				t.Errorf("%q differs from the full listing's service (-table +single):\n%s", args, diff)
			}
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		if r := runTool(t, ours, []string{"--set", "1000", "110", "290"}, ""); r.exit != 0 {
			t.Fatalf("--set: %+v", r)
		}
		kt, err := c.Timeouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var doc listing.JSONTimeoutsDocument
		decodeTool(t, ours, &doc, "-L", "--timeout", "--json")
		want := listing.JSONTimeouts{TCP: uint32(kt.TCP / time.Second), TCPFin: uint32(kt.TCPFin / time.Second),
			UDP: uint32(kt.UDP / time.Second)}
		if doc.Timeouts != want || want.TCP != 1000 {
			t.Errorf("timeouts %+v, kernel %+v", doc.Timeouts, want)
		}
	})

	t.Run("daemons", func(t *testing.T) {
		lines, err := parseScript(jsonDaemons)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if r := runTool(t, ours, l.args, ""); r.exit != 0 {
				t.Fatalf("%q: %+v", l.args, r)
			}
		}
		kd, err := c.Daemons(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var doc listing.JSONDaemonsDocument
		decodeTool(t, ours, &doc, "-L", "--daemon", "--json")
		got := daemonsFromJSON(t, doc)
		if len(kd) != 2 {
			t.Errorf("the kernel runs %d daemons, want 2", len(kd))
		}
		if diff := cmp.Diff(kd, got, addrCmp); diff != "" {
			t.Errorf("daemons (-kernel +json):\n%s", diff)
		}
		for _, s := range []string{"master", "backup"} {
			runTool(t, ours, []string{"--stop-daemon", s}, "")
		}
	})

	t.Run("connections", func(t *testing.T) {
		resetKernel(t, ref)
		for _, args := range [][]string{
			{"-A", "-u", "10.0.0.1:5353", "-s", "rr"},
			{"-a", "-u", "10.0.0.1:5353", "-r", "10.1.0.1:5353", "-m"},
		} {
			if r := runTool(t, ours, args, ""); r.exit != 0 {
				t.Fatalf("%q: %+v", args, r)
			}
		}
		for range 2 {
			conn, err := net.Dial("udp", "10.0.0.1:5353")
			if err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte("x"))
			conn.Close()
		}
		var doc listing.JSONConnections
		decodeTool(t, ours, &doc, "-L", "-c", "--json")
		kc, err := ipvs.ConnectionsFromProc("/proc")
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Connections) < 2 || len(doc.Connections) != len(kc) {
			t.Fatalf("%d connections in JSON, %d in the kernel, want the same and at least 2", len(doc.Connections), len(kc))
		}
		for i, jc := range doc.Connections {
			k := kc[i]
			ep := func(ap netip.AddrPort) listing.JSONEndpoint {
				return listing.JSONEndpoint{Address: ap.Addr().String(), Port: ap.Port()}
			}
			want := listing.JSONConnection{Protocol: k.Protocol, Client: ep(k.Client), Virtual: ep(k.Virtual),
				Destination: ep(k.Destination), State: k.State, Expires: jc.Expires, PEName: k.PEName, PEData: k.PEData}
			if diff := cmp.Diff(want, jc); diff != "" {
				t.Errorf("connection %d (-kernel +json):\n%s", i, diff)
			}
			// The expiry counts down between the two reads.
			if e := uint32(k.Expires / time.Second); jc.Expires < e || jc.Expires > e+2 {
				t.Errorf("connection %d expires in %d, kernel says %d", i, jc.Expires, e)
			}
		}
	})
}
