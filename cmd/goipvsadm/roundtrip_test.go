package main

// Property tests of the save/restore cycle: random tables (tablegen_test.go)
// saved with -S --lossless come back exactly from every kind of -R, and
// saved with -S -n come back with exactly the losses plainSaveLosses lists
// (README.md lists them too). Here on the in-memory kernel; on real kernels
// in roundtrip_e2e_test.go.
//
// Each case is one seed. GOIPVSADM_ROUNDTRIP_SEED=n replays the case of
// seed n alone; GOIPVSADM_ROUNDTRIP_CASES=n changes how many run.

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// roundTrip runs save/restore cycles on one kernel.
type roundTrip struct {
	ctx    context.Context
	client *ipvs.Client // loads and reads the kernel's table
	// The tools that save and that restore (goipvsadm, or for
	// restoring, also ipvsadm).
	save, restore func(args []string, stdin string) result
}

// restoreModes are the kinds of -R a lossless save must satisfy; case n
// uses restoreModes[n%4].
var restoreModes = [][]string{{"-R"}, {"-R", "--sync"}, {"-R", "--atomic"}, {"-R", "--sync", "--atomic"}}

// cycle loads t, saves it with the tool, empties the kernel (the
// timeouts back to the boot defaults), restores the save with the tool
// and reads the table back.
func (rt *roundTrip) cycle(t randomTable, save, restore []string) (saved string, r result, got randomTable, err error) {
	if err := t.load(rt.ctx, rt.client); err != nil {
		return "", r, got, err
	}
	s := rt.save(save, "")
	if s.exit != 0 || s.stderr != "" {
		return s.stdout, r, got, fmt.Errorf("%q: %+v", save, s)
	}
	if err := resetTable(rt.ctx, rt.client); err != nil {
		return s.stdout, r, got, err
	}
	r = rt.restore(restore, s.stdout)
	got, err = readTable(rt.ctx, rt.client)
	return s.stdout, r, got, err
}

// check runs a cycle and compares the table read back with want; refused
// says -R is to report a failed line (exit 255), else it must succeed.
func (rt *roundTrip) check(t, want randomTable, save, restore []string, refused bool) error {
	saved, r, got, err := rt.cycle(t, save, restore)
	if err != nil {
		return err
	}
	var problems []string
	switch {
	case refused && r.exit != 255:
		problems = append(problems, fmt.Sprintf("%q: exit %d, want 255 (a refused line)", restore, r.exit))
	case !refused && (r.exit != 0 || r.stderr != ""):
		problems = append(problems, fmt.Sprintf("%q: exit %d: %s", restore, r.exit, r.stderr))
	}
	if diff := cmp.Diff(want.lines(), got.lines()); diff != "" {
		problems = append(problems, fmt.Sprintf("%q of %q gives another table (-want +got):\n%s", restore, save, diff))
	}
	if problems != nil {
		return fmt.Errorf("%s\nthe save:\n%s", strings.Join(problems, "\n"), saved)
	}
	return nil
}

// checkLossless: -S --lossless, then -R of the given kind, gives t back.
func (rt *roundTrip) checkLossless(t randomTable, restore []string) error {
	return rt.check(t, t, []string{"-S", "--lossless"}, restore, false)
}

// checkPlain: -S -n, then -R, gives t back with plainSaveLosses applied.
func (rt *roundTrip) checkPlain(t randomTable) error {
	want, refused := loseAll(t)
	return rt.check(t, want, []string{"-S", "-n"}, []string{"-R"}, refused)
}

// saveLoss is one attribute that -S -n followed by -R does not keep.
type saveLoss struct {
	name string // as README.md names it
	// lose applies the loss to t and says whether -R refuses a line.
	lose func(t *randomTable) (refused bool)
	// example is a table that shows the loss and no other.
	example func() randomTable
}

func eachService(t *randomTable, f func(s *ipvs.Service)) {
	for i := range t.Entries {
		f(&t.Entries[i].Service)
	}
}

// shFlag3 reports whether s is an sh or mh service with flag-3, which
// ipvsadm's -S leaves out (those schedulers have no name for it).
func shFlag3(s *ipvs.Service) bool {
	return (s.Scheduler == "sh" || s.Scheduler == "mh") && s.Flags&ipvs.FlagSched3 != 0
}

var plainSaveLosses = []saveLoss{
	{name: "thresholds", lose: func(t *randomTable) bool {
		for i := range t.Entries {
			for j := range t.Entries[i].Destinations {
				d := &t.Entries[i].Destinations[j]
				d.UpperThreshold, d.LowerThreshold = 0, 0
			}
		}
		return false
	}, example: func() randomTable {
		t := exampleTable()
		t.Entries[0].Destinations[0].UpperThreshold = 1000
		t.Entries[0].Destinations[0].LowerThreshold = 500
		return t
	}},
	{name: "timeouts", lose: func(t *randomTable) bool {
		t.Timeouts = defaultTimeouts
		return false
	}, example: func() randomTable {
		t := exampleTable()
		t.Timeouts = ipvs.Timeouts{TCP: 7200 * time.Second, TCPFin: 60 * time.Second, UDP: 30 * time.Second}
		return t
	}},
	{name: "mask without persistence", lose: func(t *randomTable) bool {
		eachService(t, func(s *ipvs.Service) {
			if s.Flags&ipvs.FlagPersistent == 0 {
				s.Netmask = ipvs.Netmask{}
			}
		})
		return false
	}, example: func() randomTable {
		t := exampleTable()
		t.Entries[0].Service.Netmask = ipvs.IPv4NetmaskBits(0xffffff00)
		return t
	}},
	{name: "flag-3 of sh and mh", lose: func(t *randomTable) bool {
		eachService(t, func(s *ipvs.Service) {
			if shFlag3(s) && s.Flags&(ipvs.FlagSched1|ipvs.FlagSched2) != 0 {
				s.Flags &^= ipvs.FlagSched3
			}
		})
		return false
	}, example: func() randomTable {
		t := exampleTable()
		t.Entries[0].Service.Scheduler = "sh"
		t.Entries[0].Service.Flags = ipvs.FlagSched1 | ipvs.FlagSched3
		return t
	}},
	{name: "a service of sh or mh with flag-3 alone", lose: func(t *randomTable) bool {
		n := len(t.Entries)
		t.Entries = slices.DeleteFunc(t.Entries, func(e ipvs.ServiceEntry) bool {
			return shFlag3(&e.Service) && e.Service.Flags&ipvs.FlagSchedMask == ipvs.FlagSched3
		})
		return len(t.Entries) < n
	}, example: func() randomTable {
		t := exampleTable()
		s := &t.Entries[1].Service
		s.Scheduler = "mh"
		s.Flags = s.Flags&^ipvs.FlagSchedMask | ipvs.FlagSched3
		return t
	}},
}

// exampleTable is the table the examples of plainSaveLosses start from:
// one of everything -S -n does keep.
func exampleTable() randomTable {
	a := netip.MustParseAddr
	return randomTable{Timeouts: defaultTimeouts, Entries: []ipvs.ServiceEntry{
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a("10.0.0.1"), Port: 80, Scheduler: "wrr"},
			Destinations: []ipvs.Destination{
				{Addr: a("192.168.0.1"), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: 5},
				{Addr: a("2001:db8:2::1"), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.GUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelRemCsum},
			}},
		{Service: ipvs.Service{Family: ipvs.IPv6, FWMark: 3000000000, Scheduler: "sh", Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket | ipvs.FlagSched2,
			Timeout: 600, Netmask: ipvs.IPv6Prefix(64), PEName: "sip"},
			Destinations: []ipvs.Destination{
				{Addr: a("2001:db8:2::2"), ForwardMethod: ipvs.DirectRoute, Weight: 0},
				{Addr: a("192.168.0.2"), Port: 53, ForwardMethod: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.GRE, TunnelFlags: ipvs.TunnelCsum},
			}},
	}}
}

// loseAll applies every loss of -S -n to a copy of t.
func loseAll(t randomTable) (randomTable, bool) {
	t = t.clone()
	refused := false
	for _, l := range plainSaveLosses {
		if l.lose(&t) {
			refused = true
		}
	}
	return t, refused
}

// roundTripSeeds returns the seeds to run: GOIPVSADM_ROUNDTRIP_SEED alone,
// or n seeds from a random start (GOIPVSADM_ROUNDTRIP_CASES overrides n).
func roundTripSeeds(t *testing.T, n int) []int64 {
	t.Helper()
	if s := os.Getenv("GOIPVSADM_ROUNDTRIP_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("GOIPVSADM_ROUNDTRIP_SEED=%q: %v", s, err)
		}
		return []int64{seed}
	}
	if s := os.Getenv("GOIPVSADM_ROUNDTRIP_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("GOIPVSADM_ROUNDTRIP_CASES=%q: %v", s, err)
		}
	}
	start := rand.Int63n(1 << 40)
	t.Logf("%d cases, seeds %d to %d", n, start, start+int64(n)-1)
	seeds := make([]int64, n)
	for i := range seeds {
		seeds[i] = start + int64(i)
	}
	return seeds
}

// runCases runs check for each seed and stops at the third failure;
// each failure names its seed and how to replay it.
func runCases(t *testing.T, seeds []int64, check func(seed int64) error) {
	t.Helper()
	failed := 0
	for _, seed := range seeds {
		if err := check(seed); err != nil {
			t.Errorf("seed %d (replay: GOIPVSADM_ROUNDTRIP_SEED=%d go test ./cmd/goipvsadm -run '^%s$'): %v", seed, seed, t.Name(), err)
			if failed++; failed == 3 {
				return
			}
		}
	}
}

// fakeRoundTrip is a round trip of goipvsadm, in process, on an in-memory
// kernel.
func fakeRoundTrip(t *testing.T) *roundTrip {
	f := newFakeRun(t)
	c, err := ipvs.New(&ipvs.Config{Dial: f.k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &roundTrip{ctx: context.Background(), client: c, save: f.run, restore: f.run}
}

func TestLosslessRoundTrip(t *testing.T) {
	rt := fakeRoundTrip(t)
	runCases(t, roundTripSeeds(t, 2000), func(seed int64) error {
		return rt.checkLossless(genTable(seed), restoreModes[seed%4])
	})
}

func TestPlainSaveRoundTrip(t *testing.T) {
	rt := fakeRoundTrip(t)
	runCases(t, roundTripSeeds(t, 2000), func(seed int64) error {
		return rt.checkPlain(genTable(seed))
	})
}

// TestPlainSaveLosses shows each loss of -S -n alone: its example comes
// back from -S -n and -R with exactly that attribute lost, and from
// -S --lossless whole.
func TestPlainSaveLosses(t *testing.T) {
	rt := fakeRoundTrip(t)
	for _, l := range plainSaveLosses {
		t.Run(strings.ReplaceAll(l.name, " ", "_"), func(t *testing.T) {
			checkLossExample(t, rt, l)
		})
	}
}

// checkLossExample runs the checks of TestPlainSaveLosses for one loss.
func checkLossExample(t *testing.T, rt *roundTrip, l saveLoss) {
	t.Helper()
	ex := l.example()
	want := ex.clone()
	refused := l.lose(&want)
	if cmp.Equal(want.lines(), ex.lines()) {
		t.Fatalf("the example does not have the attribute")
	}
	for _, other := range plainSaveLosses {
		c := ex.clone()
		if other.name != l.name && (other.lose(&c) || !cmp.Equal(c.lines(), ex.lines())) {
			t.Fatalf("the example also shows the loss %q", other.name)
		}
	}
	if err := rt.check(ex, want, []string{"-S", "-n"}, []string{"-R"}, refused); err != nil {
		t.Error(err)
	}
	if err := rt.checkLossless(ex, []string{"-R", "--atomic"}); err != nil {
		t.Errorf("lossless: %v", err)
	}
}
