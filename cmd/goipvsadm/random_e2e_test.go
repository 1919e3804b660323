//go:build e2e

package main

// Random differential testing on a real kernel: generated command lines and
// -R rules files (internal/cmdgen) run with Debian's ipvsadm and with
// goipvsadm from the same kernel state; stdout, stderr, exit status and the
// table, timeouts and sync daemons after must be the same, except for the
// intentional differences README.md lists, each recognised narrowly by
// explainDifference.
//
// Speed: ipvsadm runs through a fork server (zygote_e2e_test.go), so the
// dynamic loader runs once; goipvsadm runs in-process (every 20th case as
// its own process, to hold the binary to the same results); the table is
// read and put back with the library, changing only what a case changed.
//
// E2E_RANDOM_SEED (default: from the clock, printed), E2E_RANDOM_LINES
// (default 5000 command lines) and E2E_RANDOM_FILES (default 300 rules
// files) control a run; make e2e-random SEED=... replays one.
// E2E_RANDOM_DAEMONS=1 (make e2e-random DAEMONS=1) adds sync daemon
// commands, which are off by default (see e2e/README.md).

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/cmdgen"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/reconcile"
)

// stuckAfter is when a case that has not finished is reported as stuck.
const stuckAfter = time.Minute

// casesPerTable is how many cases run on one starting table before the
// next starting table is built.
const casesPerTable = 25

func TestRandomDifferential(t *testing.T) {
	ref, ours := e2eBinaries(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("E2E_RANDOM_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("E2E_RANDOM_SEED: %v", err)
		}
	}
	lines, files := envCount(t, "E2E_RANDOM_LINES", 5000), envCount(t, "E2E_RANDOM_FILES", 300)
	t.Logf("seed %d, %d command lines, %d rules files: replay with make e2e-random SEED=%d E2E_KERNELS=%s",
		seed, lines, files, seed, kernelSeries())
	fmt.Printf("E2E-RANDOM seed=%d kernel=%s\n", seed, os.Getenv("GOIPVSADM_E2E_KERNEL"))

	resetKernel(t, ref)
	r := newRandomRun(t, ref, ours)
	defer r.close()
	g := cmdgen.New(seed)
	if os.Getenv("E2E_RANDOM_DAEMONS") != "1" {
		// Off by default: see "Sync daemons" in e2e/README.md.
		g.WithoutDaemons()
	}
	start := time.Now()
	for i := 0; i < lines+files; i++ {
		if i%casesPerTable == 0 {
			r.newTable(g)
		}
		c := randomCase{args: g.Args(r.state.entries)}
		if total := lines + files; (i+1)*files/total > i*files/total {
			c = randomCase{args: []string{restoreWord(i)}, stdin: g.Rules(r.state.entries)}
			r.files++
		} else {
			r.lines++
		}
		r.run(c, i%20 == 0)
		if (i+1)%100 == 0 {
			// Progress on the console, which the host watches for signs of life.
			fmt.Printf("E2E-RANDOM %d cases in %v, %d unexplained differences\n", i+1, time.Since(start).Round(time.Second), r.unexplained())
		}
	}
	r.report(time.Since(start))
}

// restoreWord is -R, or now and then its long form.
func restoreWord(i int) string {
	if i%3 == 0 {
		return "--restore"
	}
	return "-R"
}

func envCount(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a count", name, v)
	}
	return n
}

// kernelSeries is 6.1 or 6.12 for the running kernel, as make names them.
func kernelSeries() string {
	parts := strings.SplitN(os.Getenv("GOIPVSADM_E2E_KERNEL"), ".", 3)
	if len(parts) < 2 {
		return "?"
	}
	return parts[0] + "." + parts[1]
}

// randomCase is one generated command line, with -R's input.
type randomCase struct {
	args  []string
	stdin string
}

func (c randomCase) String() string {
	s := "ipvsadm " + quoteArgs(c.args)
	if c.stdin != "" {
		s += " <<EOF\n" + strings.ReplaceAll(c.stdin, "\r", `\r`) + "\nEOF"
	}
	return s
}

// kernelState is what a command can change.
type kernelState struct {
	entries  []ipvs.ServiceEntry
	timeouts ipvs.Timeouts
	daemons  []ipvs.Daemon
}

// equal compares two states; the order of destinations and services is not
// compared (putting a state back may reorder what it re-creates, which a
// tool's run does not see).
func (s kernelState) equal(o kernelState) bool {
	return reflect.DeepEqual(s.sorted(), o.sorted())
}

func (s kernelState) sorted() kernelState {
	c := kernelState{timeouts: s.timeouts, daemons: slices.Clone(s.daemons)}
	for _, e := range s.entries {
		e.Destinations = slices.Clone(e.Destinations)
		slices.SortFunc(e.Destinations, func(a, b ipvs.Destination) int {
			return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port))
		})
		e.Service.Stats = ipvs.Stats{}
		c.entries = append(c.entries, e)
	}
	slices.SortFunc(c.entries, func(a, b ipvs.ServiceEntry) int {
		return strings.Compare(fmt.Sprint(a.Service.Key()), fmt.Sprint(b.Service.Key()))
	})
	slices.SortFunc(c.daemons, func(a, b ipvs.Daemon) int { return cmp.Compare(a.State, b.State) })
	return c
}

// rules renders the state as the command lines that build it.
func (s kernelState) rules() string {
	var b strings.Builder
	b.WriteString(reconcile.Diff(reconcile.State{}, reconcile.State{Services: s.entries}).String())
	fmt.Fprintf(&b, "(timeouts %v, daemons %+v)", s.timeouts, s.daemons)
	return b.String()
}

// randomRun runs cases and keeps the tally.
type randomRun struct {
	t      *testing.T
	ctx    context.Context
	ours   string
	z      *zygote
	refBin string
	c      *ipvs.Client
	names  *names.Resolver
	state  kernelState

	lines, files int
	applied      int                      // rules files ipvsadm applied to their end without a message
	spent        map[string]time.Duration // where the time goes, for the report
	explained    map[string]int           // intentional differences seen, by class
	failures     map[string]int           // unexplained ones, by class
	shown        int
	recent       []randomCase // the last cases, for a report of a hang
}

func newRandomRun(t *testing.T, ref, ours string) *randomRun {
	c, err := ipvs.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &randomRun{t: t, ctx: context.Background(), ours: ours, refBin: ref, c: c, names: names.New(),
		spent: map[string]time.Duration{}, explained: map[string]int{}, failures: map[string]int{}}
	if _, err := os.Stat(zygoteLib); err == nil {
		if r.z, err = startZygote(ref, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Logf("no %s (no C compiler when the payload was built?): ipvsadm runs as one process per case", zygoteLib)
	}
	return r
}

func (r *randomRun) close() {
	if r.z != nil {
		r.z.close()
	}
	resetKernel(r.t, r.refBin)
	r.c.Close()
}

// newTable empties the kernel (table, timeouts, daemons) and builds a
// random starting table.
func (r *randomRun) newTable(g *cmdgen.Gen) {
	defer r.timed("new tables", time.Now())
	r.putBack(r.state, kernelState{timeouts: defaultTimeouts})
	r.inProcess([]string{"-R"}, g.TableRules())
	r.state = r.read()
}

// daemonSettle is how long a sync daemon runs before putBack stops it.
const daemonSettle = 300 * time.Millisecond

// read returns the kernel's state.
func (r *randomRun) read() kernelState {
	defer r.timed("read the table", time.Now())
	var s kernelState
	var err error
	if s.entries, err = r.c.Snapshot(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	if s.timeouts, err = r.c.Timeouts(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	if s.daemons, err = r.c.Daemons(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	return s
}

// putBack returns the kernel from state now to state want.
func (r *randomRun) putBack(now, want kernelState) {
	defer r.timed("put the table back", time.Now())
	plan := reconcile.Diff(reconcile.State{Services: now.entries}, reconcile.State{Services: want.entries})
	if plan.Len() > 0 {
		if err := plan.Apply(r.ctx, r.c); err != nil {
			r.t.Fatalf("putting the table back: %v\nfrom:\n%s\nto:\n%s", err, now.rules(), want.rules())
		}
		r.putBackOrder(want.entries)
	}
	if now.timeouts != want.timeouts {
		if err := r.c.SetTimeouts(r.ctx, want.timeouts); err != nil {
			r.t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(now.daemons, want.daemons) {
		// Stopping a sync daemon within milliseconds of its start can
		// hang the kernel's DEL_DAEMON for good (seen on 6.1 and 6.12,
		// with either tool): give a daemon a moment to settle.
		time.Sleep(daemonSettle)
		for _, d := range now.daemons {
			ctx, cancel := context.WithTimeout(r.ctx, stuckAfter/2)
			err := r.c.StopDaemon(ctx, d)
			cancel()
			if err != nil {
				r.t.Fatalf("stopping the %s sync daemon (to put the table back): %v; if it timed out, DEL_DAEMON was never answered, see e2e/README.md", d.State, err)
			}
		}
		for _, d := range want.daemons {
			if err := r.c.StartDaemon(r.ctx, d); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// putBackOrder puts the real servers of each service back in want's
// order, which a listing with --nosort shows: the kernel lists a
// service's real servers newest first, so a real server put back would
// otherwise move to the front.
func (r *randomRun) putBackOrder(want []ipvs.ServiceEntry) {
	now, err := r.c.Snapshot(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	order := func(e ipvs.ServiceEntry) []ipvs.DestinationKey {
		keys := make([]ipvs.DestinationKey, len(e.Destinations))
		for i, d := range e.Destinations {
			keys[i] = d.Key()
		}
		return keys
	}
	for _, e := range want {
		i := slices.IndexFunc(now, func(n ipvs.ServiceEntry) bool { return n.Service.Key() == e.Service.Key() })
		if i < 0 || slices.Equal(order(now[i]), order(e)) {
			continue
		}
		k := e.Service.Key()
		for _, d := range e.Destinations {
			if err := r.c.DeleteDestination(r.ctx, k, d.Key()); err != nil {
				r.t.Fatal(err)
			}
		}
		for _, d := range slices.Backward(e.Destinations) {
			if err := r.c.CreateDestination(r.ctx, k, d); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// run runs one case with both tools from the same state and compares.
func (r *randomRun) run(c randomCase, asProcess bool) {
	// A hang is a finding too: say which case it is, and where.
	r.recent = append(r.recent[max(0, len(r.recent)-10):], c)
	recent := slices.Clone(r.recent)
	watchdog := time.AfterFunc(stuckAfter, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		kmsg, _ := exec.Command("dmesg").CombinedOutput()
		fmt.Printf("E2E-RANDOM stuck for %v; the last cases:\n", stuckAfter)
		for _, c := range recent {
			fmt.Printf("$ %s\n", c)
		}
		fmt.Printf("%s\n%s\n", buf, kmsg[max(0, len(kmsg)-3000):])
	})
	defer watchdog.Stop()
	before := r.state
	want, err := r.runRef(c)
	if err != nil {
		r.fail("ipvsadm does not finish", c, before, result{}, result{}, err.Error())
		r.putBack(r.read(), before)
		return
	}
	if isRestore(c) && want.exit == 0 && want.stderr == "" {
		r.applied++
	}
	refState := r.read()
	if !refState.equal(before) {
		r.putBack(refState, before)
	}
	start := time.Now()
	var got result
	if asProcess {
		got = runTool(r.t, r.ours, c.args, c.stdin)
	} else {
		got = r.inProcess(c.args, c.stdin)
	}
	r.timed("goipvsadm", start)
	ourState := r.read()
	class, ok := explainDifference(c, want, got, before, refState, ourState)
	if !ok && isRestore(c) && negativeMarkError.MatchString(want.stderr) {
		// -R reads the negative marks -S writes: ipvsadm must do what
		// goipvsadm did when given the marks as unsigned numbers.
		c2 := randomCase{args: c.args, stdin: unsignedMarks(c.stdin)}
		r.putBack(ourState, before)
		if want2, err := r.runRef(c2); err == nil {
			refState = r.read()
			if class2, ok2 := explainDifference(c2, want2, got, before, refState, ourState); ok2 {
				class, ok = strings.TrimSpace("-R reads negative marks "+class2), true
			}
		}
		// The kernel now holds ipvsadm's second run (or, if it did
		// not finish, what it left), not goipvsadm's table: what
		// follows starts from what is there.
		ourState = r.read()
	}
	if ok {
		if class != "" {
			r.explained[class]++
		}
	} else {
		r.fail(class, c, before, want, got, stateDiff(refState, ourState))
	}
	if !ourState.equal(refState) {
		r.putBack(ourState, refState)
		ourState = r.read()
	}
	r.state = ourState
}

// timed adds the time since start to what phase took.
func (r *randomRun) timed(phase string, start time.Time) {
	r.spent[phase] += time.Since(start)
}

func (r *randomRun) runRef(c randomCase) (result, error) {
	defer r.timed("ipvsadm", time.Now())
	if r.z == nil {
		return runTool(r.t, r.refBin, c.args, c.stdin), nil
	}
	return r.z.run(append([]string{"ipvsadm"}, c.args...), c.stdin, 20*time.Second)
}

// inProcess runs goipvsadm's command in this process, as main does.
func (r *randomRun) inProcess(args []string, stdin string) result {
	var out, errb bytes.Buffer
	a := &app{
		argv0:    "ipvsadm",
		stdin:    strings.NewReader(stdin),
		stdout:   bufio.NewWriter(&out),
		stderr:   &errb,
		open:     func() (*ipvs.Client, error) { return ipvs.New(nil) },
		procRoot: "/proc",
		names:    r.names,
	}
	code := a.main(args)
	a.stdout.Flush()
	return result{stdout: out.String(), stderr: errb.String(), exit: code}
}

func formatResult(r result) string {
	s := r.stdout
	if r.stderr != "" {
		s += "[stderr]\n" + r.stderr
	}
	return s + fmt.Sprintf("[exit %d]\n", r.exit)
}

func stateDiff(want, got kernelState) string {
	if want.equal(got) {
		return ""
	}
	return "table after ipvsadm:\n" + want.rules() + "\ntable after goipvsadm:\n" + got.rules()
}

// maxShown is how many differences are printed in full.
const maxShown = 25

func (r *randomRun) fail(class string, c randomCase, before kernelState, want, got result, state string) {
	r.failures[class]++
	if r.shown >= maxShown {
		return
	}
	r.shown++
	r.t.Errorf("difference (%s)\nstarting table:\n%s\n$ %s\n--- ipvsadm:\n%s--- goipvsadm:\n%s%s",
		class, before.rules(), c, formatResult(want), formatResult(got), state)
}

func (r *randomRun) unexplained() int {
	n := 0
	for _, v := range r.failures {
		n += v
	}
	return n
}

func (r *randomRun) report(took time.Duration) {
	r.t.Logf("%d command lines and %d rules files (%d applied to their end) in %v (%.1f ms a case)", r.lines, r.files,
		r.applied, took.Round(time.Second), float64(took.Milliseconds())/float64(max(r.lines+r.files, 1)))
	for phase, d := range r.spent {
		r.t.Logf("time: %v %s", d.Round(time.Millisecond), phase)
	}
	for _, m := range []struct {
		what string
		m    map[string]int
	}{{"intentional differences", r.explained}, {"UNEXPLAINED differences", r.failures}} {
		keys := make([]string, 0, len(m.m))
		for k := range m.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			r.t.Logf("%s: %d x %s", m.what, m.m[k], k)
		}
	}
}
