// Command libcompare times github.com/goipvsadm/goipvsadm/ipvs against
// github.com/moby/ipvs on a real kernel: both create the same table
// (10,000 TCP services with 10 masquerading destinations each), then list
// it back (services, and the destinations of each). Ours creates with one
// pipelined Apply and lists with Snapshot; moby has no batch, so it makes
// one call per object. Runs alternate between the libraries, the table is
// flushed before each, and both listings are checked against what was
// created. With -compat, a second build of this command (go build -tags
// mobycompat, which only swaps moby/ipvs's import path for goipvsadm's
// moby/ipvs package) runs the same moby code as a third contender. make
// bench runs it in the e2e guest (see ../../README.md).
//
//	libcompare [-small] [-rounds 3] [-services N -dests M] [-compat PATH]
//
// Exit status 1 when a library failed or listed a different table, 3 when
// ours was not at least -target times faster (with -strict).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

type spec struct {
	key   ipvs.ServiceKey
	dests []netip.Addr
}

// table builds n services with m destinations each.
func table(n, m int) []spec {
	t := make([]spec, n)
	for i := range t {
		v := i + 1
		t[i].key = ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP,
			Addr: netip.AddrFrom4([4]byte{10, 100 + byte(v>>16), byte(v >> 8), byte(v)}), Port: 80}
		for j := range m {
			p := i*m + j + 1
			t[i].dests = append(t[i].dests, netip.AddrFrom4([4]byte{172, 16 + byte(p>>16), byte(p >> 8), byte(p)}))
		}
	}
	return t
}

// A timing is one library's create and list times for one round.
type timing struct{ create, list time.Duration }

func (t timing) total() time.Duration { return t.create + t.list }

// ours creates and lists with github.com/goipvsadm/goipvsadm/ipvs.
func ours(ctx context.Context, t []spec) (timing, int, error) {
	var tm timing
	start := time.Now()
	c, err := ipvs.New(nil)
	if err != nil {
		return tm, 0, err
	}
	defer c.Close()
	ops := make([]ipvs.Op, 0, len(t)*(1+len(t[0].dests)))
	for _, s := range t {
		ops = append(ops, ipvs.CreateService(ipvs.Service{Family: s.key.Family, Protocol: s.key.Protocol,
			Addr: s.key.Addr, Port: s.key.Port, Scheduler: "wlc"}))
		for _, d := range s.dests {
			ops = append(ops, ipvs.CreateDestination(s.key, ipvs.Destination{Addr: d, Port: 8080,
				ForwardMethod: ipvs.Masquerade, Weight: 1}))
		}
	}
	results, err := c.Apply(ctx, ops)
	if err != nil {
		return tm, 0, err
	}
	for i, err := range results {
		if err != nil {
			return tm, 0, fmt.Errorf("op %d: %w", i, err)
		}
	}
	tm.create = time.Since(start)

	start = time.Now()
	entries, err := c.Snapshot(ctx)
	if err != nil {
		return tm, 0, err
	}
	tm.list = time.Since(start)
	got := map[ipvs.ServiceKey][]netip.Addr{}
	for _, e := range entries {
		for _, d := range e.Destinations {
			got[e.Service.Key()] = append(got[e.Service.Key()], d.Addr)
		}
	}
	return tm, len(entries), check(t, got)
}

// viaMoby creates and lists through moby/ipvs's API: moby/ipvs itself, or
// (built with -tags mobycompat) goipvsadm's package with that API.
func viaMoby(t []spec) (timing, int, error) {
	var tm timing
	start := time.Now()
	h, err := mobyNew("")
	if err != nil {
		return tm, 0, err
	}
	defer h.Close()
	for _, s := range t {
		svc := &mobyService{AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP,
			Address: net.IP(s.key.Addr.AsSlice()), Port: s.key.Port, SchedName: "wlc", Netmask: 0xffffffff}
		if err := h.NewService(svc); err != nil {
			return tm, 0, fmt.Errorf("%s NewService %v: %w", mobyAPIName, s.key, err)
		}
		for _, d := range s.dests {
			err := h.NewDestination(svc, &mobyDestination{AddressFamily: syscall.AF_INET,
				Address: net.IP(d.AsSlice()), Port: 8080, ConnectionFlags: mobyMasq, Weight: 1})
			if err != nil {
				return tm, 0, fmt.Errorf("%s NewDestination %v %v: %w", mobyAPIName, s.key, d, err)
			}
		}
	}
	tm.create = time.Since(start)

	start = time.Now()
	svcs, err := h.GetServices()
	if err != nil {
		return tm, 0, fmt.Errorf("%s GetServices: %w", mobyAPIName, err)
	}
	type entry struct {
		svc   *mobyService
		dests []*mobyDestination
	}
	entries := make([]entry, len(svcs))
	for i, s := range svcs {
		dests, err := h.GetDestinations(s)
		if err != nil {
			return tm, 0, fmt.Errorf("%s GetDestinations: %w", mobyAPIName, err)
		}
		entries[i] = entry{s, dests}
	}
	tm.list = time.Since(start)
	got := map[ipvs.ServiceKey][]netip.Addr{}
	for _, e := range entries {
		a, _ := netip.AddrFromSlice(e.svc.Address.To4())
		k := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.Protocol(e.svc.Protocol), Addr: a, Port: e.svc.Port}
		for _, d := range e.dests {
			da, _ := netip.AddrFromSlice(d.Address.To4())
			got[k] = append(got[k], da)
		}
	}
	return tm, len(entries), check(t, got)
}

// check compares a listing with the table created.
func check(t []spec, got map[ipvs.ServiceKey][]netip.Addr) error {
	if len(got) != len(t) {
		return fmt.Errorf("listed %d services with destinations, created %d", len(got), len(t))
	}
	for _, s := range t {
		g := slices.Clone(got[s.key])
		slices.SortFunc(g, netip.Addr.Compare)
		if !slices.Equal(g, s.dests) {
			return fmt.Errorf("service %v: listed destinations %v, created %v", s.key, g, s.dests)
		}
	}
	return nil
}

// flush empties the table and reloads the IPVS modules: after a flush
// alone the kernel keeps the deleted destinations in a trash list that
// every destination added searches first (see e2e/cmd/benchrun), which
// would slow the next run down by the previous one's table.
func flush(ctx context.Context) error {
	c, err := ipvs.New(nil)
	if err != nil {
		return err
	}
	err = c.Flush(ctx)
	c.Close()
	if err != nil {
		return err
	}
	data, err := os.ReadFile("/proc/modules")
	if err != nil {
		return err
	}
	var scheds []string
	for _, line := range strings.Split(string(data), "\n") {
		if name, _, _ := strings.Cut(line, " "); strings.HasPrefix(name, "ip_vs_") {
			scheds = append(scheds, name)
		}
	}
	for _, cmd := range [][]string{append([]string{"rmmod"}, scheds...), {"rmmod", "ip_vs"}, {"modprobe", "ip_vs"}} {
		if len(cmd) == 1 {
			continue
		}
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(cmd, " "), err, out)
		}
	}
	return nil
}

func median(ts []timing, f func(timing) time.Duration) time.Duration {
	d := make([]time.Duration, len(ts))
	for i, t := range ts {
		d[i] = f(t)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func main() {
	var (
		small    = flag.Bool("small", false, "1,000 services instead of 10,000 (smoke test)")
		services = flag.Int("services", 10000, "services to create")
		dests    = flag.Int("dests", 10, "destinations per service")
		rounds   = flag.Int("rounds", 3, "runs of each library")
		target   = flag.Float64("target", 3, "how many times faster ours must be (create+list)")
		strict   = flag.Bool("strict", false, "exit 3 when ours is not -target times faster")
		one      = flag.Int("one", -1, "internal: run library 0 (ours) or 1 (moby's API) once and print its times")
		compat   = flag.String("compat", "", "libcompare built with -tags mobycompat: also time moby's API on our package")
		cpuprof  = flag.String("cpuprofile", "", "with -one: write a CPU profile of the run here")
	)
	flag.Parse()
	if *small {
		*services = 1000
	}
	if *services < 1 || *services > 65535 || *dests < 1 || *services**dests > 1<<20 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "libcompare: bad -services, -dests or -rounds")
		os.Exit(2)
	}
	ctx := context.Background()
	if *one >= 0 {
		runOne(ctx, *one, table(*services, *dests), *cpuprof)
		return
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	libs := []contender{{"goipvsadm/ipvs", self, 0}, {mobyAPIName, self, 1}}
	if *compat != "" {
		libs = append(libs, contender{"goipvsadm/moby/ipvs", *compat, 1})
	}
	times := runRounds(ctx, libs, *rounds, *services, *dests)
	fmt.Println("BENCH-TABLE-BEGIN")
	total := printTable(libs, times, *services, *dests)
	verdict := "pass"
	if total < *target {
		verdict = "FAIL"
	}
	if *small {
		verdict = "(" + verdict + ")"
	}
	fmt.Printf("\ntarget: ours ≥ %.0f× faster (create + list): %s\n", *target, verdict)
	fmt.Println("BENCH-TABLE-END")
	if total < *target && *strict && !*small {
		os.Exit(3)
	}
}

// runOne is a child's run: library one (0 ours, 1 moby's API) creates
// and lists t once, in a fresh process (moby/ipvs resolves the IPVS family
// once per process, and the modules are reloaded between runs), and
// prints its times.
func runOne(ctx context.Context, one int, t []spec, cpuprof string) {
	if cpuprof != "" {
		f, err := os.Create(cpuprof)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var (
		tm  timing
		n   int
		err error
	)
	if one == 0 {
		tm, n, err = ours(ctx, t)
	} else {
		tm, n, err = viaMoby(t)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
	fmt.Println(tm.create.Nanoseconds(), tm.list.Nanoseconds(), n)
}

// A contender is a library under test: a binary and its -one argument.
type contender struct {
	name, exe string
	one       int
}

// runRounds runs each contender once a round, each round starting with
// another, after a flush, and returns their timings by contender.
func runRounds(ctx context.Context, libs []contender, rounds, services, dests int) [][]timing {
	times := make([][]timing, len(libs))
	for round := range rounds {
		for k := range libs {
			lib := (k + round) % len(libs)
			if err := flush(ctx); err != nil {
				fatal(err)
			}
			tm, n := runChild(libs[lib], services, dests)
			times[lib] = append(times[lib], tm)
			fmt.Printf("libcompare: %d×%d round %d %-19s create %7.3fs list %7.3fs (%d services)\n",
				services, dests, round+1, libs[lib].name, tm.create.Seconds(), tm.list.Seconds(), n)
		}
	}
	if err := flush(ctx); err != nil {
		fatal(err)
	}
	return times
}

// runChild runs one child of c and returns what it printed.
func runChild(c contender, services, dests int) (timing, int) {
	cmd := exec.Command(c.exe, "-one", strconv.Itoa(c.one), "-services", strconv.Itoa(services),
		"-dests", strconv.Itoa(dests))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fatal(fmt.Errorf("%s: %w", c.name, err))
	}
	var (
		create, list int64
		n            int
	)
	if _, err := fmt.Sscan(string(out), &create, &list, &n); err != nil {
		fatal(fmt.Errorf("%s: %q: %w", c.name, out, err))
	}
	return timing{time.Duration(create), time.Duration(list)}, n
}

// printTable prints the medians and the speed-ups over moby's API (libs[1])
// as a table, and returns ours's speed-up for create + list.
func printTable(libs []contender, times [][]timing, services, dests int) float64 {
	fmt.Printf("| library, %d services × %d destinations | create | list | create + list |\n", services, dests)
	fmt.Println("|---|--:|--:|--:|")
	phases := []func(timing) time.Duration{
		func(t timing) time.Duration { return t.create },
		func(t timing) time.Duration { return t.list },
		timing.total,
	}
	for lib := range libs {
		fmt.Printf("| %s |", libs[lib].name)
		for _, f := range phases {
			fmt.Printf(" %.2f s |", median(times[lib], f).Seconds())
		}
		fmt.Println()
	}
	var total float64
	for lib := range libs {
		if lib == 1 {
			continue
		}
		fmt.Printf("| speed-up (moby / %s) |", libs[lib].name)
		for _, f := range phases {
			r := median(times[1], f).Seconds() / median(times[lib], f).Seconds()
			fmt.Printf(" %.1f× |", r)
			if lib == 0 {
				total = r
			}
		}
		fmt.Println()
	}
	return total
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "libcompare:", err)
	os.Exit(1)
}
