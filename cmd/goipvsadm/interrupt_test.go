package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestSignalDuringAtomicRestore: a signal that arrives while an
// all-or-nothing restore is changing the table makes it undo every
// change, say so, and only then end by that signal.
func TestSignalDuringAtomicRestore(t *testing.T) {
	// The test process itself must survive the signals it sends.
	own := make(chan os.Signal, 4)
	signal.Notify(own, interruptSignals...)
	defer signal.Stop(own)

	var rules strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&rules, "-A -t 10.7.%d.%d:80 -s rr\n", i/250, i%250+1)
	}
	for _, args := range [][]string{{"-R", "--atomic"}, {"-R", "--sync", "--atomic"}} {
		for _, sig := range []syscall.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP} {
			f := newFakeRun(t)
			f.run([]string{"-A", "-t", "10.0.0.1:80", "-s", "wlc"}, "")
			before := f.run([]string{"-Sn"}, "")
			var writes atomic.Int32
			var sent atomic.Bool
			f.k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
				if !r.IsIPVS() || r.IsRead() || writes.Add(1) < 1500 || r.Flags&netlink.Acknowledge == 0 || sent.Swap(true) {
					return ipvstest.Fault{}
				}
				// The last request of a window half-way: the run waits
				// for its answer until the signal stops it.
				unix.Kill(os.Getpid(), sig)
				return ipvstest.Stall()
			})
			var ended os.Signal
			r := f.runWith(args, rules.String(), func(a *app) {
				a.exitSignal = func(s os.Signal) { ended = s }
			})
			f.k.InjectFault(nil)
			if ended != sig {
				t.Errorf("%q, %v: the run ended by %v", args, sig, ended)
			}
			want := fmt.Sprintf("ipvsadm: interrupted by %s: every change of this restore was undone: the table is as it was\n", unix.SignalName(sig))
			if r.stderr != want {
				t.Errorf("%q, %v: stderr %q, want %q", args, sig, r.stderr, want)
			}
			if after := f.run([]string{"-Sn"}, ""); after != before {
				t.Errorf("%q, %v: the table changed:\n%s", args, sig, after.stdout)
			}
		}
	}
}
