package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
)

// restore runs -R. Three intentional differences from ipvsadm (README.md):
// the whole input is parsed before anything is applied, so a syntax error
// anywhere applies nothing; the exit status is 255 when any line failed,
// not just the status of the last line; and the negative marks of
// ipvsadm's own -S are read back.
//
// goipvsadm's own options (mode): --sync makes the table equal to the
// rules with the fewest changes, --atomic applies all or nothing, and
// --dry-run prints a sync's plan.
func (a *app) restore(ctx context.Context, mode cmdline.RestoreOptions) int {
	tuneGC := os.Getenv("GOGC") == ""
	if tuneGC {
		defer debug.SetGCPercent(debug.SetGCPercent(restoreGCPercent))
	}
	opts := restore.Options{Argv0: a.argv0, Resolver: cmdline.NamesResolver{Resolver: a.names}, Reread: true, Workers: runtime.GOMAXPROCS(0)}
	if tuneGC && opts.Workers > 1 && regularFile(a.stdin) {
		debug.SetGCPercent(partsGCPercent)
	}
	rules, err := restore.ParseRules(a.stdin, opts)
	if tuneGC {
		debug.SetGCPercent(restoreGCPercent)
	}
	if err != nil {
		var se *restore.SyntaxError
		if !errors.As(err, &se) {
			fmt.Fprintf(a.stderr, "%s: reading rules: %v\n", a.argv0, err)
			return 2
		}
		fmt.Fprintln(a.stderr, se.Msg)
		a.lineNote(se.Line, "nothing was restored")
		return se.Exit
	}
	if mode.Sync || mode.Atomic {
		return a.restoreTableGuarded(ctx, rules, mode)
	}
	if tuneGC {
		setGCHeadroom()
	}
	status := 0
	for plan, r := range rules.Batches(batchSize) {
		switch {
		case plan != nil:
			if a.applyFailures(plan.Apply(ctx, a.client)) != 0 {
				status = 255
			}
			continue
		case r.Skipped != nil:
			// ipvsadm reports a popt error on a line and goes on.
			a.stdout.Flush()
			fmt.Fprintln(a.stderr, r.Skipped.Msg)
			status = 255
			continue
		}
		// Any other command runs as it would on the command line.
		p := a.parser()
		p.IpvsadmOnly, p.SavedMarks = true, true // as restore.Parse read it
		cmd, err := p.Parse(a.argv0, r.Args)
		if err != nil { // Parse accepted it once
			return a.fail(err)
		}
		switch cmd.Kind {
		case cmdline.Help:
			io.WriteString(a.stdout, cmdline.Usage(a.argv0))
			return 0
		case cmdline.Version:
			fmt.Fprintln(a.stdout, cmdline.VersionLine())
			return 0
		}
		switch a.execute(ctx, cmd) {
		case 0:
		case 1:
			// ipvsadm exits from a listing that fails: the restore
			// ends there, with its status.
			return 1
		default:
			status = 255
		}
	}
	return status
}

// restoreGCPercent is the garbage collector's GOGC during -R. The rules
// are held without pointers (restore.Rules), so a collection costs little
// however many there are, while the default of 100 would let the garbage
// of parsing and sending grow as big as the rules before collecting it:
// peak memory would be twice what the rules need.
const restoreGCPercent = 20

// partsGCPercent is GOGC while a restore parses a file in parts, on more
// than one CPU. The heap grows by the rules (which no collection frees)
// much more than by garbage, and each collection stops all parsing
// goroutines a moment, so GOGC=20 would stop them about four times as
// often as this. (From a pipe, which is parsed in one part and whose
// lines' texts are kept, the heap stays at GOGC=20.)
const partsGCPercent = 100

// regularFile reports whether r is a regular file.
func regularFile(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

// gcHeadroom is how much garbage a plain -R lets grow between
// collections once the rules are parsed: from then on its live heap
// hardly grows (the rules, a batch), so a fixed headroom bounds the peak as
// GOGC=20 would, with fewer collections for small inputs.
const gcHeadroom = 16 << 20

// setGCHeadroom sets GOGC to give the live heap gcHeadroom, or 20 % of
// itself if that is more.
func setGCHeadroom() {
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	n := max(live[0].Value.Uint64(), 1)
	debug.SetGCPercent(int(max(restoreGCPercent, gcHeadroom*100/n)))
}

// batchSize bounds how many changes a restore sends before it prints the
// failures of the batch (which it holds till then); their messages print
// in order, before any later line's output. A batch is a few of
// reconcile.Plan.Apply's, which with more than one CPU builds each while
// the one before is applied.
const batchSize = 4 * 4096

// restoreTable runs -R --atomic and -R --sync: the rules are checked
// against the kernel's table before anything is sent, and with --atomic a
// failure undoes every change the run made.
func (a *app) restoreTable(ctx context.Context, rules *restore.Rules, mode cmdline.RestoreOptions) int {
	plan, code := a.restorePlan(ctx, rules, mode)
	if plan == nil {
		return code
	}
	switch {
	case mode.DryRun:
		plan.WriteTo(a.stdout) //nolint:errcheck // a.stdout's error shows at its Flush
		return 0
	case !mode.Atomic:
		return a.applyFailures(plan.Apply(ctx, a.client))
	}
	a.beginChanges()
	err := plan.ApplyAtomic(ctx, a.client)
	var ae *reconcile.AtomicError
	if !errors.As(err, &ae) {
		return a.applyFailures(err)
	}
	if a.interrupted() != nil {
		return a.reportInterrupted(ae)
	}
	fmt.Fprintln(a.stderr, kernelMessage(operationOf(ae.Step.Op.Kind), ae.Err))
	if l, ok := rules.Line(ae.Step.Line); ok {
		a.lineNote(l, "")
	} else {
		fmt.Fprintf(a.stderr, "change: %s\n", ae.Step)
	}
	if ae.Rollback != nil {
		fmt.Fprintf(a.stderr, "undoing this restore failed: %s: the table is NOT as it was\n", kernelMessage(opGeneric, ae.Rollback))
		return 255
	}
	fmt.Fprintln(a.stderr, "every change of this restore was undone: the table is as it was")
	return 255
}

// restorePlan reads the kernel's table and plans the restore against it;
// nil and the exit status if it cannot. A sync reads the table straight
// into the Table it diffs against (reconcile.ReadTable): a big table is
// not held twice over.
func (a *app) restorePlan(ctx context.Context, rules *restore.Rules, mode cmdline.RestoreOptions) (*reconcile.Plan, int) {
	var plan *reconcile.Plan
	if mode.Sync {
		current, err := reconcile.ReadTable(ctx, a.client)
		if err != nil {
			return nil, a.kernelFailure(opGeneric, err, 1)
		}
		plan, err = rules.SyncPlanTable(current)
		if err != nil {
			a.planFailure(err)
			return nil, 255
		}
		return plan, 0
	}
	current, err := reconcile.Read(ctx, a.client, ipvs.SkipStats)
	if err != nil {
		return nil, a.kernelFailure(opGeneric, err, 1)
	}
	if plan, err = rules.NewPlan(current); err != nil {
		a.planFailure(err)
		return nil, 255
	}
	return plan, 0
}

// applyFailures prints the failures of Plan.Apply as ipvsadm would have
// printed them for their lines, in order, and returns the exit status.
func (a *app) applyFailures(err error) int {
	if err == nil {
		return 0
	}
	a.stdout.Flush()
	var ae *reconcile.ApplyError
	if !errors.As(err, &ae) {
		fmt.Fprintln(a.stderr, kernelMessage(opGeneric, err))
		return 255
	}
	for _, f := range ae.Failed {
		fmt.Fprintln(a.stderr, kernelMessage(operationOf(f.Step.Op.Kind), f.Err))
	}
	return 255
}

// planFailure reports a rules line that cannot be part of the plan;
// nothing was sent.
func (a *app) planFailure(err error) {
	var se *restore.SyntaxError
	var pe *restore.PlanError
	var ce *reconcile.ConflictError
	switch {
	case errors.As(err, &se):
		fmt.Fprintln(a.stderr, se.Msg)
		a.lineNote(se.Line, "nothing was restored")
	case errors.As(err, &pe):
		if errors.As(pe.Err, &ce) {
			fmt.Fprintln(a.stderr, kernelMessage(operationOf(ce.Op.Kind), ce))
		} else {
			fmt.Fprintln(a.stderr, pe.Err)
		}
		a.lineNote(pe.Line, "nothing was restored")
	default:
		fmt.Fprintf(a.stderr, "%s: %v\n", a.argv0, err)
	}
}

// lineNote names the rules line an error belongs to.
func (a *app) lineNote(l restore.Line, note string) {
	text := strings.TrimRight(l.Text, "\r")
	if note != "" {
		fmt.Fprintf(a.stderr, "line %d: %s (%s)\n", l.Num, text, note)
		return
	}
	fmt.Fprintf(a.stderr, "line %d: %s\n", l.Num, text)
}

// saveScript behaves like Debian's ipvsadm-save: "ipvsadm-save [-n]" saves
// the table; any other option prints its usage and exits 1; other words are
// ignored. goipvsadm's --lossless is passed on to -S.
func (a *app) saveScript(args []string) int {
	numeric, lossless := false, false
	for _, arg := range args {
		switch {
		case arg == "-n":
			numeric = true
		case arg == "--lossless":
			lossless = true
		case strings.HasPrefix(arg, "-"):
			fmt.Fprintf(a.stderr, "%s: Script to save the IPVS table to stdout.\n", filepath.Base(a.argv0))
			fmt.Fprintln(a.stderr, "   With the -n option, prints out the table in numeric format.")
			return 1
		}
	}
	a.argv0 = "ipvsadm"
	saveArgs := []string{"-S"}
	if numeric {
		saveArgs = append(saveArgs, "-n")
	}
	if lossless {
		saveArgs = append(saveArgs, "--lossless")
	}
	return a.main(saveArgs)
}

// restoreScript behaves like Debian's ipvsadm-restore: lines starting with
// '#' are dropped, the table is cleared, and the rest is restored.
func (a *app) restoreScript() int {
	data, err := io.ReadAll(a.stdin)
	if err != nil {
		fmt.Fprintf(a.stderr, "ipvsadm-restore: %v\n", err)
		return 1
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), len(data)+1)
	for sc.Scan() {
		// Blank the comment lines rather than drop them, so that line
		// numbers in messages are the file's.
		if !strings.HasPrefix(sc.Text(), "#") {
			kept.WriteString(sc.Text())
		}
		kept.WriteByte('\n')
	}
	a.argv0 = "ipvsadm"
	if code := a.main([]string{"-C"}); code != 0 {
		return code
	}
	a.stdin = &kept
	return a.main([]string{"-R"})
}
