//go:build e2e

package main

// Differential tests on a real kernel: Debian's ipvsadm 1.31 ($IPVSADM) and
// goipvsadm ($GOIPVSADM) run the same scripts in the e2e guest; stdout,
// stderr, exit status and the resulting table must be identical. Both are
// started with argv[0] "ipvsadm", as messages quote it.

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
)

func e2eBinaries(t *testing.T) (ref, ours string) {
	t.Helper()
	if os.Getenv("GOIPVSADM_E2E") != "1" {
		t.Skip("real-kernel test: run by make e2e inside the guest")
	}
	ref, ours = os.Getenv("IPVSADM"), os.Getenv("GOIPVSADM")
	if ref == "" || ours == "" {
		t.Fatal("IPVSADM and GOIPVSADM must name the two binaries")
	}
	return ref, ours
}

// runTool runs one command line and records what it did.
func runTool(t *testing.T, bin string, args []string, stdin string) result {
	t.Helper()
	cmd := &exec.Cmd{Path: bin, Args: append([]string{"ipvsadm"}, args...), Stdin: strings.NewReader(stdin)}
	return runCmd(t, cmd)
}

// runCmd runs cmd, a run of a tool without its outputs set, and returns
// what it printed and its exit status.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	bin, args := cmd.Path, cmd.Args[1:]
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if code < 0 {
			t.Fatalf("%s %q: %v", bin, args, err) // a signal: a crash is never right
		}
	} else if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), exit: code}
}

// resetKernel returns the kernel to its state at boot.
func resetKernel(t *testing.T, ref string) {
	runTool(t, ref, []string{"-C"}, "")
	runTool(t, ref, []string{"--stop-daemon", "master"}, "")
	runTool(t, ref, []string{"--stop-daemon", "backup"}, "")
	runTool(t, ref, []string{"--set", "900", "120", "300"}, "")
}

// kernelClient opens a Client of the guest's kernel, closed when t ends.
func kernelClient(t *testing.T) *ipvs.Client {
	t.Helper()
	c, err := ipvs.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runScript runs a differential script with bin and returns its transcript,
// ending in the table, timeouts and daemons as the reference tool sees them.
func runScript(t *testing.T, ref, bin string, lines []scriptLine) string {
	resetKernel(t, ref)
	var b strings.Builder
	for _, l := range lines {
		if l.setup {
			if r := runTool(t, ref, l.args, l.stdin); r.exit != 0 {
				t.Fatalf("setup %q failed: %+v", l.args, r)
			}
			continue
		}
		b.WriteString(formatStep(l, runTool(t, bin, l.args, l.stdin)))
	}
	b.WriteString("=== final state\n")
	for _, args := range [][]string{{"-Sn"}, {"-L", "--timeout"}, {"-L", "--daemon"}} {
		l := scriptLine{args: args}
		b.WriteString(formatStep(l, runTool(t, ref, args, "")))
	}
	return b.String()
}

// normaliseExpiry blanks the expiry column of connection listings, which
// counts down between the two runs.
var expiry = regexp.MustCompile(`(?m)^(\S+ +)\d+:\d\d`)

func TestDifferential(t *testing.T) {
	ref, ours := e2eBinaries(t)
	for _, tc := range diffScripts {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := parseScript(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			want := runScript(t, ref, ref, lines)
			got := runScript(t, ref, ours, lines)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("goipvsadm differs from ipvsadm (-ipvsadm +goipvsadm):\n%s", diff)
			}
			if !tc.fakeOK {
				return
			}
			// The golden transcript the in-memory kernel is held to must be
			// what the real ipvsadm prints on the real kernel.
			golden := filepath.Join("testdata", "scripts", tc.name+".txt")
			g, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden transcript: %v", err)
			}
			if diff := cmp.Diff(want, string(g)); diff != "" {
				t.Errorf("%s disagrees with ipvsadm on this kernel (-ipvsadm +golden):\n%s\n--- ipvsadm's transcript:\n%s", golden, diff, want)
			}
		})
	}
}

// TestDifferentialConnections compares -L -c on a table holding real
// connections: a UDP flow from the guest itself to a local real server.
func TestDifferentialConnections(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	for _, args := range [][]string{
		{"-A", "-u", "10.0.0.1:5353", "-s", "rr"},
		{"-a", "-u", "10.0.0.1:5353", "-r", "10.1.0.1:5353", "-m"},
		{"-A", "-u", "10.0.0.1:53", "-s", "rr"},
		{"-a", "-u", "10.0.0.1:53", "-r", "10.1.0.1:53", "-m"},
	} {
		if r := runTool(t, ref, args, ""); r.exit != 0 {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	for _, port := range []string{"5353", "53"} {
		c, err := net.Dial("udp", "10.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.Close()
	}
	for _, args := range [][]string{{"-Lnc"}, {"-L", "-c"}, {"-Lnc", "--persistent-conn"}, {"-Lnc", "--exact", "--nosort"}} {
		want := runTool(t, ref, args, "")
		got := runTool(t, ours, args, "")
		want.stdout = expiry.ReplaceAllString(want.stdout, "${1}MM:SS")
		got.stdout = expiry.ReplaceAllString(got.stdout, "${1}MM:SS")
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("%q differs (-ipvsadm +goipvsadm):\n%s", args, diff)
		}
		if strings.Count(want.stdout, "\n") < 4 {
			t.Errorf("%q lists fewer than two connections:\n%s", args, want.stdout)
		}
	}
}
