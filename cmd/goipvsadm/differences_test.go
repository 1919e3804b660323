package main

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

// steps runs a script on f and renders it like the differential
// transcripts, without the final state.
func (f *fakeRun) steps(t *testing.T, script string) string {
	t.Helper()
	lines, err := parseScript(script)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		r := f.run(l.args, l.stdin)
		if l.setup {
			if r.exit != 0 {
				t.Fatalf("setup %q: %+v", l.args, r)
			}
			continue
		}
		b.WriteString(formatStep(l, r))
	}
	return b.String()
}

// differenceCases pin what goipvsadm does on purpose unlike ipvsadm (each
// is listed in README.md with its reason) and its own -R modes.
var differenceCases = []struct {
	name   string
	opts   []ipvstest.Option
	setup  func(k *ipvstest.Kernel)
	script string
}{
	{name: "help-version-without-ipvs", opts: []ipvstest.Option{ipvstest.Unavailable()}, script: `
-v
--version
-Ln
`},
	{name: "restore-syntax-error-applies-nothing", script: `
-R <<EOF
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m
-A -t 10.0.0.3:80 -s rr -x 5
-A -t 10.0.0.4:80 -s rr
EOF
-Sn
-R <<EOF
-A -t 10.0.0.1:80 -s rr
# a comment is a syntax error for ipvsadm
EOF
-Sn
-R <<EOF
-A -t vip1.example:80 -s rr
-A -t vip1.example.:81 -s rr
EOF
-Sn
`},
	{name: "restore-exit-status", script: `
-R <<EOF
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.9:80 -r 10.0.0.2:80 -m
-A -t 10.0.0.2:80 -s rr --bogus
-A -t 10.0.0.3:80 -s rr
EOF
-Sn
`},
	{name: "restore-atomic", script: `
! -A -t 10.0.0.1:80 -s rr
! -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3
! --set 1000 100 200
-R --atomic <<EOF
-E -t 10.0.0.1:80 -s wlc -p 60
-e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 9
--set 0 50 0
-A -t 10.0.0.5:80 -s rr
-a -t 10.0.0.5:80 -r 10.0.0.6:80 -m
-C
-A -t 10.0.0.7:80 -s nosuchsched
EOF
-Sn
-L --timeout
-R --atomic <<EOF
-A -t 10.0.0.8:80 -s rr
-a -t 10.0.0.9:80 -r 10.0.0.2:80 -m
EOF
-Sn
-R --atomic <<EOF
-A -t 10.0.0.8:80 -s rr
-Ln
EOF
-R --atomic <<EOF
-A -t 10.0.0.8:80 -s rr
-a -t 10.0.0.8:80 -r 10.0.0.2:80 -m
EOF
-Sn
`},
	{name: "restore-sync", script: `
! -A -t 10.0.0.1:80 -s rr
! -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3
! -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m
! -A -u 10.0.0.2:53 -s rr
! -A -f 7 -s sh
-R --sync --dry-run <<EOF
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 5 -x 100 -y 10
-a -t 10.0.0.1:80 -r 10.0.0.4:80 -m
-A -f 7 -s sh -p 30 -M 255.255.255.0
-A -f 3000000000 -s rr
--set 0 0 60
EOF
-Sn
-R --sync <<EOF
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 5 -x 100 -y 10
-a -t 10.0.0.1:80 -r 10.0.0.4:80 -m
-A -f 7 -s sh -p 30 -M 255.255.255.0
-A -f 3000000000 -s rr
--set 0 0 60
EOF
-Ln --thresholds
-L --timeout
-R --sync --dry-run <<EOF
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 5 -x 100 -y 10
-a -t 10.0.0.1:80 -r 10.0.0.4:80 -m
-A -f 7 -s sh -p 30 -M 255.255.255.0
-A -f 3000000000 -s rr
--set 0 0 60
EOF
-R --sync --atomic <<EOF
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.6:80 -s nosuch
EOF
-Sn
-R --dry-run
-R --sync <<EOF
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m
EOF
`},
	{name: "restore-negative-fwmark", script: `
-R <<EOF
-A -f -1294967296 -s rr
-a -f -1294967296 -r 10.0.0.2:0 -g -w 1
-A -f -1 -6 -s wlc
EOF
-Ln
-Sn
-R --sync --atomic <<EOF
-A -f -1294967296 -s wlc
EOF
-Sn
-A -f -5 -s rr
`},
	{name: "counters-64-bit", setup: func(k *ipvstest.Kernel) {
		svc := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
		dest := ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
		if err := k.SetDestStats(svc, dest, ipvs.Stats{Conns: 99999999999, InPkts: 1 << 33, OutPkts: 5, InBytes: 1 << 50, CPS: 123456789012}); err != nil {
			panic(err)
		}
	}, script: `
-Ln --stats --exact
-Ln --stats
-Ln --rate
`},
	{name: "sched-flags-only-commas", script: `
-A -t 10.0.0.1:80 -s rr -b ,
-A -t 10.0.0.1:80 -s rr -b ,,,
`},
}

// TestIntentionalDifferences: goldens in testdata/differences/.
func TestIntentionalDifferences(t *testing.T) {
	for _, tc := range differenceCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRun(t, tc.opts...)
			if tc.setup != nil {
				f.run([]string{"-A", "-t", "10.0.0.1:80", "-s", "rr"}, "")
				f.run([]string{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:80", "-m"}, "")
				tc.setup(f.k)
			}
			checkGolden(t, filepath.Join("testdata", "differences", tc.name+".txt"), f.steps(t, tc.script))
		})
	}
}

// TestInitFailure: without IPVS, modprobe is tried once and ipvsadm's
// message follows; without CAP_NET_ADMIN the message says so.
func TestInitFailure(t *testing.T) {
	f := newFakeRun(t, ipvstest.Unavailable())
	probes := 0
	r := f.runWith([]string{"-Ln"}, "", func(a *app) { a.modprobe = func() error { probes++; return errors.New("exit status 1") } })
	want := "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
	if r.stderr != want || r.exit != 2 || probes != 1 {
		t.Errorf("got %+v after %d modprobe calls, want %q and exit 2 after one", r, probes, want)
	}
	f = newFakeRun(t, ipvstest.PermissionDenied())
	r = f.run([]string{"-A", "-t", "10.0.0.1:80"}, "")
	if !strings.Contains(r.stderr, "Can't initialize ipvs: Permission denied (you must be root)") || r.exit != 2 {
		t.Errorf("without CAP_NET_ADMIN: %+v", r)
	}
}

// TestScripts: invoked as ipvsadm-save or ipvsadm-restore, goipvsadm
// behaves like Debian's scripts of those names.
func TestScripts(t *testing.T) {
	f := newFakeRun(t)
	var b strings.Builder
	step := func(argv0 string, args []string, stdin string) {
		r := f.runWith(args, stdin, func(a *app) { a.argv0 = argv0 })
		b.WriteString(formatStep(scriptLine{args: append([]string{"(as " + argv0 + ")"}, args...), stdin: stdin}, r))
	}
	step("/sbin/ipvsadm-restore", nil, "# saved rules\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m\n  # an indented comment is an error\n")
	step("/sbin/ipvsadm-restore", nil, "# saved rules\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m\n")
	step("ipvsadm-save", nil, "")
	step("ipvsadm-save", []string{"-n"}, "")
	step("ipvsadm-save", []string{"-n", "extra"}, "")
	step("ipvsadm-save", []string{"--lossless"}, "")
	step("/usr/sbin/ipvsadm-save", []string{"-x"}, "")
	checkGolden(t, filepath.Join("testdata", "differences", "scripts.txt"), b.String())
}
