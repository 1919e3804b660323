package cmdline

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testParser resolves names from the copies of the name databases in
// testdata, never from DNS.
func testParser() *Parser {
	return &Parser{Resolver: NamesResolver{&names.Resolver{
		HostsPath:    filepath.Join("testdata", "hosts"),
		ServicesPath: filepath.Join("testdata", "services"),
	}}}
}

// cHex formats like C's "%#x" (which prints 0 without a prefix).
func cHex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%#x", v)
}

func addrText(a netip.Addr, family ipvs.Family) string {
	if a.IsValid() {
		return a.String()
	}
	switch family {
	case ipvs.IPv4:
		return "0.0.0.0"
	case ipvs.IPv6:
		return "::"
	}
	return "-"
}

// summarize renders a parse result as one line: what ipvsadm would do with
// the command line (the command and the values it would send), or its
// error message and exit status.
func summarize(cmd *Command, err error) string {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return "unexpected error type: " + err.Error()
		}
		return fmt.Sprintf("exit=%d %q", e.Exit, e.Msg)
	}
	svc := func(s ipvs.Service) string {
		return fmt.Sprintf(" svc{af=%d proto=%d addr=%s port=%d fwmark=%d sched=%s flags=%s timeout=%d netmask=%s pe=%s}",
			s.Family, s.Protocol, addrText(s.Addr, s.Family), s.Port, s.FWMark, s.Scheduler,
			cHex(uint64(s.Flags)), s.Timeout, cHex(uint64(s.Netmask.Value(s.Family))), s.PEName)
	}
	// The golden records the kernel's forwarding numbers, as ipvsadm
	// sends them.
	kernelForward := map[ipvs.ForwardMethod]int{ipvs.Masquerade: 0, ipvs.Local: 1, ipvs.Tunnel: 2, ipvs.DirectRoute: 3}
	dest := func(d ipvs.Destination) string {
		return fmt.Sprintf(" dest{af=%d addr=%s port=%d fwd=%d weight=%d x=%d y=%d tun=%d/%d/%d}",
			d.Family(), addrText(d.Addr, d.Family()), d.Port, kernelForward[d.ForwardMethod], d.Weight,
			d.UpperThreshold, d.LowerThreshold, d.TunnelType, d.TunnelPort, d.TunnelFlags)
	}
	daemon := func(d ipvs.Daemon) string {
		group := "-"
		if d.Group.IsValid() {
			group = d.Group.String()
		}
		return fmt.Sprintf(" daemon{state=%d ifn=%s syncid=%d maxlen=%d port=%d ttl=%d group=%s}",
			d.State, d.Interface, d.SyncID, d.MaxLen, d.Port, d.TTL, group)
	}
	switch cmd.Kind {
	case AddService, EditService, DeleteService, Zero:
		return cmd.Kind.String() + svc(cmd.Service)
	case AddServer, EditServer, DeleteServer:
		return cmd.Kind.String() + svc(cmd.Service) + dest(cmd.Dest)
	case Flush, Restore, Help, Version:
		return cmd.Kind.String()
	case SetTimeouts:
		return fmt.Sprintf("set tcp=%d tcpfin=%d udp=%d",
			int(cmd.Timeouts.TCP.Seconds()), int(cmd.Timeouts.TCPFin.Seconds()), int(cmd.Timeouts.UDP.Seconds()))
	case StartDaemon, StopDaemon:
		return cmd.Kind.String() + daemon(cmd.Daemon)
	case List, Save:
		s := fmt.Sprintf("%s opts=%s fmt=%s", cmd.Kind, cHex(uint64(cmd.Options)), cHex(uint64(formatBits(cmd.Format))))
		if cmd.Options.Has(OptService) {
			s += svc(cmd.Service)
		}
		if cmd.Options.Has(OptSyncID) {
			s += fmt.Sprintf(" syncid=%d", cmd.Daemon.SyncID)
		}
		return s
	}
	return fmt.Sprintf("unknown kind %v", cmd.Kind)
}

// formatBits are ipvsadm's FMT_* bits for a Format.
func formatBits(f Format) uint {
	var b uint
	for bit, on := range map[uint]bool{
		0x1: f.Numeric, 0x4: f.Stats, 0x8: f.Rate, 0x10: f.Thresholds,
		0x20: f.PersistentConn, 0x40: f.NoSort, 0x80: f.Exact, 0x100: f.TunInfo,
	} {
		if on {
			b |= bit
		}
	}
	return b
}

// splitWords splits a test case line at blanks; '...' quotes a word.
func splitWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			quoted = !quoted
			inWord = true
		case c == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func readCases(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		cases = append(cases, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestParseGolden runs every command line of testdata/cases.txt and compares
// the results with testdata/parse.golden.
func TestParseGolden(t *testing.T) {
	p := testParser()
	var got strings.Builder
	for _, line := range readCases(t) {
		cmd, err := p.Parse("ipvsadm", splitWords(line))
		fmt.Fprintf(&got, "$ %s\n%s\n", line, summarize(cmd, err))
	}
	compareGolden(t, "parse.golden", got.String())
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func TestUsageGolden(t *testing.T) {
	compareGolden(t, "help.golden", UsageWithVersion(CompatVersionLine, "ipvsadm"))
}

// extensionSummary adds goipvsadm's own options to summarize's line.
func extensionSummary(cmd *Command, err error) string {
	s := summarize(cmd, err)
	if err != nil {
		return s
	}
	for _, o := range []struct {
		on   bool
		name string
	}{{cmd.Format.JSON, "json"}, {cmd.Restore.Sync, "sync"}, {cmd.Restore.Atomic, "atomic"}, {cmd.Restore.DryRun, "dry-run"}, {cmd.Format.Lossless, "lossless"}} {
		if o.on {
			s += " +" + o.name
		}
	}
	return s
}

// TestExtensionsGolden runs testdata/ext-cases.txt, the command lines with
// goipvsadm's own options, against testdata/ext.golden.
func TestExtensionsGolden(t *testing.T) {
	f, err := os.ReadFile(filepath.Join("testdata", "ext-cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	p := testParser()
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(f), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		cmd, err := p.Parse("ipvsadm", splitWords(line))
		fmt.Fprintf(&got, "$ %s\n%s\n", line, extensionSummary(cmd, err))
	}
	compareGolden(t, "ext.golden", got.String())
}
