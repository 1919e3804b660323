package main

import (
	"bufio"
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testNames resolves with the e2e guest's fixed tables, so the golden
// transcripts are what ipvsadm prints in the guest. The guest has no DNS,
// but Go's resolver, which goipvsadm asks after the hosts file, reads that
// file as well, ignoring a name's final dot; the stand-in does the same.
func testNames() *names.Resolver {
	files := &names.Resolver{HostsPath: filepath.Join("..", "..", "e2e", "guest", "etc", "hosts")}
	return &names.Resolver{
		HostsPath:    files.HostsPath,
		ServicesPath: filepath.Join("..", "..", "e2e", "guest", "etc", "services"),
		LookupA: func(name string) (netip.Addr, bool) {
			return files.LookupIPv4(strings.TrimSuffix(name, "."))
		},
	}
}

// fakeRun runs goipvsadm in-process against kernel k.
type fakeRun struct {
	k     *ipvstest.Kernel
	names *names.Resolver
	proc  string
}

func newFakeRun(t *testing.T, opts ...ipvstest.Option) *fakeRun {
	t.Helper()
	if os.Getenv("GOIPVSADM_E2E") == "1" {
		// The guest has the package's testdata but not the repository's
		// e2e/guest tables; these tests ran on the host already.
		t.Skip("in-memory kernel tests run on the host")
	}
	return &fakeRun{k: ipvstest.New(opts...), names: testNames(), proc: t.TempDir()}
}

func (f *fakeRun) run(args []string, stdin string) result {
	return f.runWith(args, stdin, nil)
}

// runWith is run with a chance to adjust the app first.
func (f *fakeRun) runWith(args []string, stdin string, adjust func(*app)) result {
	var out, errb bytes.Buffer
	a := &app{
		argv0:    "ipvsadm",
		stdin:    strings.NewReader(stdin),
		stdout:   bufio.NewWriter(&out),
		stderr:   &errb,
		open:     func() (*ipvs.Client, error) { return ipvs.New(&ipvs.Config{Dial: f.k.Dial}) },
		procRoot: f.proc,
		names:    f.names,
	}
	if adjust != nil {
		adjust(a)
	}
	code := a.main(args)
	a.stdout.Flush()
	return result{stdout: out.String(), stderr: errb.String(), exit: code}
}

// transcript runs a differential script as runScript does in the e2e suite,
// with goipvsadm in place of the reference for setup and final state.
func (f *fakeRun) transcript(t *testing.T, lines []scriptLine) string {
	var b strings.Builder
	for _, l := range lines {
		r := f.run(l.args, l.stdin)
		if l.setup {
			if r.exit != 0 {
				t.Fatalf("setup %q failed: %+v", l.args, r)
			}
			continue
		}
		b.WriteString(formatStep(l, r))
	}
	b.WriteString("=== final state\n")
	for _, args := range [][]string{{"-Sn"}, {"-L", "--timeout"}, {"-L", "--daemon"}} {
		b.WriteString(formatStep(scriptLine{args: args}, f.run(args, "")))
	}
	return b.String()
}

// TestScriptsOnFakeKernel holds goipvsadm on the in-memory kernel to golden
// transcripts; the e2e suite checks the same files against Debian's
// ipvsadm on real kernels.
func TestScriptsOnFakeKernel(t *testing.T) {
	for _, tc := range diffScripts {
		if !tc.fakeOK {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			lines, err := parseScript(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			got := newFakeRun(t).transcript(t, lines)
			checkGolden(t, filepath.Join("testdata", "scripts", tc.name+".txt"), got)
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestConnections lists a captured connection table (IPv4, IPv6, SCTP, a
// sip persistence engine entry) and the two failures ipvsadm reports.
func TestConnections(t *testing.T) {
	f := newFakeRun(t)
	f.proc = filepath.Join("testdata", "proc")
	var b strings.Builder
	for _, args := range [][]string{{"-Lnc"}, {"-L", "-c"}, {"-Lnc", "--persistent-conn"}, {"-Lcn", "--exact"}} {
		b.WriteString(formatStep(scriptLine{args: args}, f.run(args, "")))
	}
	f.proc = t.TempDir()
	b.WriteString(formatStep(scriptLine{args: []string{"-Lnc"}}, f.run([]string{"-Lnc"}, "")))
	if err := os.MkdirAll(filepath.Join(f.proc, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.proc, "net", "ip_vs_conn"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.WriteString(formatStep(scriptLine{args: []string{"-Lnc"}}, f.run([]string{"-Lnc"}, "")))
	checkGolden(t, filepath.Join("testdata", "connections.txt"), b.String())
}
