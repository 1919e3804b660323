package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// FuzzJSONOutput builds a random table (services, real servers, counters,
// timeouts, sync daemons and a connection table) from the fuzzer's bytes,
// and checks that every JSON listing of it is one valid JSON document that
// the schema of docs/json.md (checkJSON) accepts.
func FuzzJSONOutput(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25})
	f.Add([]byte("\x03\x00\x0a\x00\x00\x01\x00\x50rr\x00\x02\x01\xc0\xa8\x01\x02\x00\x50\x00\x05"))
	f.Add([]byte(strings.Repeat("\xff\x80\x7f\x01\x00", 40)))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFakeRun(t)
		c, err := ipvs.New(&ipvs.Config{Dial: fr.k.Dial})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b := &fuzzBytes{data: data}
		services := buildRandomTable(t, c, fr, b)
		writeRandomConns(t, fr.proc, b)
		forms := [][]string{{"-L", "--json"}, {"-L", "--json", "--nosort"}, {"-Ln", "--json", "--stats"},
			{"-L", "--json", "-c"}, {"-L", "--json", "--timeout"}, {"-L", "--json", "--daemon"}}
		for _, s := range services {
			forms = append(forms, append([]string{"-L", "--json"}, serviceArgs(s)...))
		}
		for _, args := range forms {
			r := fr.run(args, "")
			if r.exit != 0 {
				if r.stdout != "" && args[len(args)-1] != "-c" {
					t.Fatalf("%q: exit %d with output %q", args, r.exit, r.stdout)
				}
				if r.stdout == "" {
					continue
				}
			}
			if !utf8.ValidString(r.stdout) || !strings.HasSuffix(r.stdout, "}\n") || strings.Count(r.stdout, "\n") != 1 {
				t.Fatalf("%q: not one UTF-8 JSON document and a newline: %q", args, r.stdout)
			}
			if err := checkJSON(r.stdout); err != nil {
				t.Fatalf("%q: %v\n%s", args, err, r.stdout)
			}
		}
	})
}

// fuzzBytes hands out the fuzzer's bytes; past the end, zeros.
type fuzzBytes struct {
	data []byte
}

func (b *fuzzBytes) next(n int) []byte {
	out := make([]byte, n)
	k := copy(out, b.data)
	b.data = b.data[k:]
	return out
}

func (b *fuzzBytes) u8() uint8   { return b.next(1)[0] }
func (b *fuzzBytes) u16() uint16 { return binary.BigEndian.Uint16(b.next(2)) }
func (b *fuzzBytes) u32() uint32 { return binary.BigEndian.Uint32(b.next(4)) }
func (b *fuzzBytes) u64() uint64 { return binary.BigEndian.Uint64(b.next(8)) }
func (b *fuzzBytes) done() bool  { return len(b.data) == 0 }

func (b *fuzzBytes) str(names ...string) string {
	i := int(b.u8())
	if i < len(names) {
		return names[i]
	}
	return string(b.next(i % 20)) // anything, UTF-8 or not
}

func (b *fuzzBytes) addr(v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16([16]byte(b.next(16)))
	}
	return netip.AddrFrom4([4]byte(b.next(4)))
}

func (b *fuzzBytes) stats() ipvs.Stats {
	return ipvs.Stats{Conns: b.u64(), InPkts: b.u64(), OutPkts: b.u64(), InBytes: b.u64(), OutBytes: b.u64(),
		CPS: b.u64(), InPPS: b.u64(), OutPPS: b.u64(), InBPS: b.u64(), OutBPS: b.u64()}
}

// buildRandomTable adds what the bytes describe; what the library or the
// kernel refuses is left out. It returns the services made.
func buildRandomTable(t *testing.T, c *ipvs.Client, fr *fakeRun, b *fuzzBytes) []ipvs.Service {
	ctx := context.Background()
	c.SetTimeouts(ctx, ipvs.Timeouts{TCP: time.Duration(b.u16()) * time.Second, TCPFin: time.Duration(b.u16()) * time.Second, UDP: time.Duration(b.u16()) * time.Second})
	for n := b.u8() % 3; n > 0; n-- {
		c.StartDaemon(ctx, ipvs.Daemon{State: ipvs.DaemonState(1 + b.u8()%2), Interface: b.str("eth0", "eth1"),
			SyncID: uint32(b.u8()), MaxLen: b.u16(), Group: b.addr(b.u8()%2 == 1), Port: b.u16(), TTL: b.u8()})
	}
	var made []ipvs.Service
	for !b.done() && len(made) < 8 {
		v6 := b.u8()%3 == 0
		s := ipvs.Service{Scheduler: b.str("rr", "wlc", "sh", "mh", "wrr"), Flags: ipvs.ServiceFlags(b.u32() & 0x3d),
			Timeout: b.u32() % 100000, PEName: b.str("", "", "sip")}
		if m := b.u8(); m%4 == 0 {
			s.FWMark = b.u32() | 1
			if v6 {
				s.Family = ipvs.IPv6
			}
		} else {
			s.Protocol = []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP}[m%3]
			s.Addr, s.Port = b.addr(v6), b.u16()
		}
		if err := c.CreateService(ctx, s); err != nil {
			continue
		}
		made = append(made, s)
		fr.k.SetStats(s.Key(), b.stats())
		for n := b.u8() % 4; n > 0; n-- {
			d := ipvs.Destination{Addr: b.addr(b.u8()%3 == 0), Port: b.u16(), ForwardMethod: ipvs.ForwardMethod(b.u8() % 4),
				Weight: b.u32() % (1 << 31), TunnelType: ipvs.TunnelType(b.u8() % 3), TunnelPort: b.u16() | 1,
				TunnelFlags: ipvs.TunnelFlags(b.u8() % 3)}
			if c.CreateDestination(ctx, s.Key(), d) == nil {
				fr.k.SetDestStats(s.Key(), d.Key(), b.stats())
			}
		}
	}
	return made
}

// writeRandomConns writes a connection table as the kernel formats it,
// with random fields, and now and then a malformed line.
func writeRandomConns(t *testing.T, proc string, b *fuzzBytes) {
	var w strings.Builder
	w.WriteString("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
	for n := b.u8() % 5; n > 0; n-- {
		proto := b.str("TCP", "UDP", "SCTP", "ICMP")
		addr := func() string { return fmt.Sprintf("%08X %04X", b.u32(), b.u16()) }
		if b.u8()%3 == 0 {
			addr = func() string { return fmt.Sprintf("%032X %04X", b.next(16), b.u16()) }
		}
		fmt.Fprintf(&w, "%-3s %s %s %s %-11s %7d", proto, addr(), addr(), addr(), b.str("ESTABLISHED", "SYN_RECV", "UDP", "NONE"), b.u32()%100000)
		if b.u8()%4 == 0 {
			fmt.Fprintf(&w, " %s %s", b.str("sip"), b.str("3848276298@10.0.0.5"))
		}
		w.WriteString("\n")
	}
	dir := filepath.Join(proc, "net")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ip_vs_conn"), []byte(w.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serviceArgs are the options naming s on the command line.
func serviceArgs(s ipvs.Service) []string {
	if s.FWMark != 0 {
		args := []string{"-f", strconv.FormatUint(uint64(s.FWMark), 10)}
		if s.Family == ipvs.IPv6 {
			args = append(args, "-6")
		}
		return args
	}
	opt := map[ipvs.Protocol]string{ipvs.TCP: "-t", ipvs.UDP: "-u", ipvs.SCTP: "--sctp-service"}[s.Protocol]
	return []string{opt, netip.AddrPortFrom(s.Addr, s.Port).String()}
}
