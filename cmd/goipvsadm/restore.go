package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/restore"
	"golang.org/x/sys/unix"
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
	p := a.parser()
	p.IpvsadmOnly = true // --sync and the like are for the whole run, not a line
	p.SavedMarks = true  // marks of 2^31 and more as ipvsadm -S writes them
	rules, err := restore.ParseAllWith(p, a.argv0, a.stdin)
	if err != nil {
		var le *restore.LineError
		if !errors.As(err, &le) {
			fmt.Fprintf(a.stderr, "%s: reading rules: %v\n", a.argv0, err)
			return 2
		}
		fmt.Fprintln(a.stderr, le.Err.Msg)
		a.lineNote(le.Line, "nothing was restored")
		return le.Err.Exit
	}
	if mode.Sync || mode.Atomic {
		return a.restoreTable(ctx, rules, mode)
	}
	status := 0
	var batch []pendingOp
	flush := func() {
		if len(batch) > 0 && a.applyBatch(ctx, batch) {
			status = 255
		}
		batch = batch[:0]
	}
	for _, r := range rules {
		if r.Skipped != nil {
			// ipvsadm reports a popt error on a line and goes on.
			flush()
			a.stdout.Flush()
			fmt.Fprintln(a.stderr, r.Skipped.Msg)
			status = 255
			continue
		}
		if op, ok := tableOp(r.Cmd); ok {
			batch = append(batch, pendingOp{op: op, kind: r.Cmd.Kind})
			if len(batch) >= batchSize {
				flush()
			}
			continue
		}
		flush()
		switch r.Cmd.Kind {
		case cmdline.Help:
			io.WriteString(a.stdout, cmdline.Usage(a.argv0))
			return 0
		case cmdline.Version:
			fmt.Fprintln(a.stdout, cmdline.VersionLine())
			return 0
		}
		switch a.execute(ctx, r.Cmd) {
		case 0:
		case 1:
			// ipvsadm exits from a listing that fails: the restore
			// ends there, with its status.
			return 1
		default:
			status = 255
		}
	}
	flush()
	return status
}

// batchSize bounds how many changes a restore holds before it sends them;
// their messages print in order when the batch is done, before any later
// line's output.
const batchSize = 4096

// pendingOp is a change waiting in a batch, with its command for messages.
type pendingOp struct {
	op   ipvs.Op
	kind cmdline.Kind
}

// tableOp is the batchable change a command makes, if it makes one.
func tableOp(cmd *cmdline.Command) (ipvs.Op, bool) {
	k := cmd.Service.Key()
	switch cmd.Kind {
	case cmdline.AddService:
		return ipvs.CreateService(cmd.Service), true
	case cmdline.EditService:
		return ipvs.UpdateService(cmd.Service), true
	case cmdline.DeleteService:
		return ipvs.DeleteService(k), true
	case cmdline.AddServer:
		return ipvs.CreateDestination(k, cmd.Dest), true
	case cmdline.EditServer:
		return ipvs.UpdateDestination(k, cmd.Dest), true
	case cmdline.DeleteServer:
		return ipvs.DeleteDestination(k, cmd.Dest.Key()), true
	}
	return ipvs.Op{}, false
}

// operationOf is the libipvs operation whose messages an Op's errors use.
func operationOf(k ipvs.OpKind) operation {
	switch k {
	case ipvs.OpCreateService:
		return opAddService
	case ipvs.OpUpdateService:
		return opEditService
	case ipvs.OpDeleteService:
		return opDelService
	case ipvs.OpCreateDestination:
		return opAddDest
	case ipvs.OpUpdateDestination:
		return opEditDest
	case ipvs.OpDeleteDestination:
		return opDelDest
	}
	return opGeneric
}

// applyBatch sends a batch and prints each failure as ipvsadm would have
// printed it for its line. It reports whether any failed.
func (a *app) applyBatch(ctx context.Context, batch []pendingOp) bool {
	ops := make([]ipvs.Op, len(batch))
	for i := range batch {
		ops[i] = batch[i].op
	}
	results, _ := a.client.Apply(ctx, ops)
	failed := false
	for i, err := range results {
		if err != nil {
			a.stdout.Flush()
			fmt.Fprintln(a.stderr, kernelMessage(operationOf(ops[i].Kind), err))
			failed = true
		}
	}
	return failed
}

// restoreTable runs -R --atomic and -R --sync: the rules are checked
// against the kernel's table before anything is sent, and with --atomic a
// failure undoes every change the run made.
func (a *app) restoreTable(ctx context.Context, rules []restore.Rule, mode cmdline.RestoreOptions) int {
	entries, err := a.client.Snapshot(ctx)
	if err != nil {
		return a.kernelFailure(opGeneric, err, 1)
	}
	timeouts, err := a.client.Timeouts(ctx)
	if err != nil {
		return a.kernelFailure(opGeneric, err, 1)
	}
	current := restore.NewTable(entries)
	current.Timeouts = timeouts
	var plan *restore.Plan
	if mode.Sync {
		plan, err = restore.SyncPlan(rules, current)
	} else {
		plan, err = restore.NewPlan(rules, current)
	}
	var pe *restore.PlanError
	if errors.As(err, &pe) {
		a.planFailure(pe)
		return 255
	} else if err != nil {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.argv0, err)
		return 255
	}
	if mode.DryRun {
		for _, s := range plan.Steps {
			io.WriteString(a.stdout, restore.FormatOp(s.Op)+"\n")
		}
		return 0
	}
	if !mode.Atomic {
		batch := make([]pendingOp, len(plan.Steps))
		for i, s := range plan.Steps {
			batch[i] = pendingOp{op: s.Op}
		}
		if a.applyBatch(ctx, batch) {
			return 255
		}
		return 0
	}
	err = plan.ApplyAtomic(ctx, a.client)
	var ae *restore.AtomicError
	if !errors.As(err, &ae) {
		return 0
	}
	fmt.Fprintln(a.stderr, kernelMessage(operationOf(ae.Step.Op.Kind), ae.Err))
	if ae.Step.Line.Num > 0 {
		a.lineNote(ae.Step.Line, "")
	} else {
		fmt.Fprintf(a.stderr, "change: %s\n", restore.FormatOp(ae.Step.Op))
	}
	if ae.Rollback != nil {
		fmt.Fprintf(a.stderr, "undoing this restore failed: %s: the table is NOT as it was\n", kernelMessage(opGeneric, ae.Rollback))
		return 255
	}
	fmt.Fprintln(a.stderr, "every change of this restore was undone: the table is as it was")
	return 255
}

// planFailure reports a rules line that cannot apply to the table it
// would meet; nothing was sent.
func (a *app) planFailure(pe *restore.PlanError) {
	var ce *cmdline.Error
	var errno unix.Errno
	switch {
	case errors.As(pe.Err, &ce):
		fmt.Fprintln(a.stderr, ce.Msg)
	case errors.As(pe.Err, &errno):
		fmt.Fprintln(a.stderr, kernelMessage(operationOf(pe.Op.Kind), errno))
	default:
		fmt.Fprintln(a.stderr, pe.Err)
	}
	a.lineNote(pe.Line, "nothing was restored")
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
