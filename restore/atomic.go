package restore

import (
	"context"
	"errors"
	"fmt"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"golang.org/x/sys/unix"
)

// A Step is one change to the kernel's table, with the rules line it comes
// from.
type Step struct {
	Line Line // the rules line (Num 0 for changes a sync computed)
	Op   ipvs.Op
}

// A Plan is the steps of a restore or a sync, with the table they were
// planned against, from which a failed run is undone.
type Plan struct {
	Steps  []Step
	before *Table
}

// PlanError is a rules line that cannot apply to the table it would meet:
// nothing has been sent to the kernel.
type PlanError struct {
	Line Line
	Op   ipvs.Op
	Err  error // a unix.Errno as the kernel would return it, or why the line has no place here
}

func (e *PlanError) Error() string {
	return fmt.Sprintf("line %d: %v", e.Line.Num, e.Err)
}

func (e *PlanError) Unwrap() error { return e.Err }

// ErrNotTableChange: a rule that neither changes the table nor the
// timeouts (a listing, -Z, a sync daemon) has no place in an
// all-or-nothing restore or a sync: it cannot be undone or compared.
var ErrNotTableChange = errors.New("only -A, -E, -D, -a, -e, -d, -C and --set can be part of an all-or-nothing restore or a sync")

// ruleOps returns the table operations of one rule. -C becomes one
// deletion per service of t, so that it can be undone.
func ruleOps(cmd *cmdline.Command, t *Table) ([]ipvs.Op, error) {
	k := cmd.Service.Key()
	switch cmd.Kind {
	case cmdline.AddService:
		return []ipvs.Op{ipvs.CreateService(cmd.Service)}, nil
	case cmdline.EditService:
		return []ipvs.Op{ipvs.UpdateService(cmd.Service)}, nil
	case cmdline.DeleteService:
		return []ipvs.Op{ipvs.DeleteService(k)}, nil
	case cmdline.AddServer:
		return []ipvs.Op{ipvs.CreateDestination(k, cmd.Dest)}, nil
	case cmdline.EditServer:
		return []ipvs.Op{ipvs.UpdateDestination(k, cmd.Dest)}, nil
	case cmdline.DeleteServer:
		return []ipvs.Op{ipvs.DeleteDestination(k, cmd.Dest.Key())}, nil
	case cmdline.Flush:
		return t.FlushOps(), nil
	case cmdline.SetTimeouts:
		return []ipvs.Op{ipvs.SetTimeouts(cmd.Timeouts)}, nil
	}
	return nil, ErrNotTableChange
}

// NewPlan turns rules into steps against current, the table they will meet
// (the kernel's, as Snapshot and Timeouts read it). A line that cannot apply
// (a service added twice, a real server of a service that does not exist,
// ...) is a *PlanError; nothing has been sent then.
//
// The plan keeps current as the table to undo to: do not change it
// afterwards.
func NewPlan(rules []Rule, current *Table) (*Plan, error) {
	steps, err := planSteps(rules, current.Clone())
	if err != nil {
		return nil, err
	}
	return &Plan{Steps: steps, before: current}, nil
}

// planSteps turns rules into steps, changing t as they would.
func planSteps(rules []Rule, t *Table) ([]Step, error) {
	var steps []Step
	for _, r := range rules {
		if r.Cmd == nil {
			return nil, &PlanError{Line: r.Line, Err: r.Skipped}
		}
		ops, err := ruleOps(r.Cmd, t)
		if err != nil {
			return nil, &PlanError{Line: r.Line, Err: err}
		}
		for _, op := range ops {
			if _, err := t.Apply(op); err != nil {
				return nil, &PlanError{Line: r.Line, Op: op, Err: err}
			}
			steps = append(steps, Step{Line: r.Line, Op: op})
		}
	}
	return steps, nil
}

// SyncPlan returns the fewest steps that turn the kernel's table (current,
// with its timeouts) into the one rules describe. Services and
// destinations are changed in place, never removed and added again; the
// steps carry the lines that asked for what they create or change. The
// plan keeps current as the table to undo to: do not change it afterwards.
func SyncPlan(rules []Rule, current *Table) (*Plan, error) {
	desired := NewTable(nil)
	// Which line last set each object, to name it in errors.
	svcLine := map[ipvs.ServiceKey]int{}
	destLine := map[destID]int{}
	timeoutLine := -1
	for ri, r := range rules {
		if r.Cmd == nil {
			return nil, &PlanError{Line: r.Line, Err: r.Skipped}
		}
		ops, err := ruleOps(r.Cmd, desired)
		if err != nil {
			return nil, &PlanError{Line: r.Line, Err: err}
		}
		for _, op := range ops {
			if _, err := desired.Apply(op); err != nil {
				return nil, &PlanError{Line: r.Line, Op: op, Err: err}
			}
			switch op.Kind {
			case ipvs.OpCreateService, ipvs.OpUpdateService:
				svcLine[op.Service.Key()] = ri
			case ipvs.OpCreateDestination, ipvs.OpUpdateDestination:
				destLine[destID{op.Service.Key(), op.Destination.Key()}] = ri
			case ipvs.OpSetTimeouts:
				timeoutLine = ri
			}
		}
	}
	lineOf := func(i int, ok bool) Line {
		if !ok || i < 0 {
			return Line{}
		}
		return rules[i].Line
	}
	ops := diffTables(current, desired)
	steps := make([]Step, 0, len(ops)+1)
	for _, op := range ops {
		var l Line
		switch op.Kind {
		case ipvs.OpCreateService, ipvs.OpUpdateService:
			i, ok := svcLine[op.Service.Key()]
			l = lineOf(i, ok)
		case ipvs.OpCreateDestination, ipvs.OpUpdateDestination:
			i, ok := destLine[destID{op.Service.Key(), op.Destination.Key()}]
			l = lineOf(i, ok)
		}
		steps = append(steps, Step{Line: l, Op: op})
	}
	if t := timeoutChange(current.Timeouts, desired.Timeouts); t != (ipvs.Timeouts{}) {
		steps = append(steps, Step{Line: lineOf(timeoutLine, true), Op: ipvs.SetTimeouts(t)})
	}
	return &Plan{Steps: steps, before: current}, nil
}

type destID struct {
	svc  ipvs.ServiceKey
	dest ipvs.DestinationKey
}

// timeoutChange keeps the wanted timeouts that differ from the current
// ones (zero: leave as it is).
func timeoutChange(cur, want ipvs.Timeouts) ipvs.Timeouts {
	var t ipvs.Timeouts
	if want.TCP != 0 && want.TCP != cur.TCP {
		t.TCP = want.TCP
	}
	if want.TCPFin != 0 && want.TCPFin != cur.TCPFin {
		t.TCPFin = want.TCPFin
	}
	if want.UDP != 0 && want.UDP != cur.UDP {
		t.UDP = want.UDP
	}
	return t
}

// AtomicError is an all-or-nothing run that did not go through.
type AtomicError struct {
	Step Step  // the first step that failed
	Err  error // the kernel's answer to it
	// Rollback is nil when every change of the run was undone and the
	// table is as it was; otherwise the undo failed and the table is NOT
	// as it was.
	Rollback error
}

func (e *AtomicError) Error() string {
	msg := fmt.Sprintf("line %d: %v", e.Step.Line.Num, e.Err)
	if e.Rollback != nil {
		msg += fmt.Sprintf("; undoing the changes failed: %v", e.Rollback)
	}
	return msg
}

func (e *AtomicError) Unwrap() error { return e.Err }

// atomicChunk is how many steps go to the kernel between checks for a
// failure: a failure stops the run within one chunk, which the kernel has
// then carried out in full (it goes on after a failed request).
const atomicChunk = 1024

// ApplyAtomic carries out the plan on c, all or nothing: when a step
// fails, every step the kernel carried out is undone, newest first, and an
// *AtomicError names the failed step. The kernel's table must be the one
// the plan was made against. Undoing is not cancelled with ctx.
func (p *Plan) ApplyAtomic(ctx context.Context, c *ipvs.Client) error {
	ops := make([]ipvs.Op, len(p.Steps))
	for i := range p.Steps {
		ops[i] = p.Steps[i].Op
	}
	outcome := make([]stepOutcome, 0, len(ops))
	for start := 0; start < len(ops); start += atomicChunk {
		end := min(start+atomicChunk, len(ops))
		results, err := c.Apply(ctx, ops[start:end])
		failed, ferr := -1, error(nil)
		for j, r := range results {
			switch {
			case r == nil:
				outcome = append(outcome, carriedOut)
			case errors.Is(r, ipvs.ErrAckLost):
				outcome = append(outcome, perhapsCarriedOut)
			default:
				outcome = append(outcome, refused)
			}
			if r != nil && failed < 0 {
				failed, ferr = start+j, r
			}
		}
		if failed < 0 && err != nil {
			failed, ferr = start, err
		}
		if failed >= 0 {
			return &AtomicError{Step: p.Steps[failed], Err: ferr, Rollback: p.rollback(ctx, c, outcome)}
		}
	}
	return nil
}

type stepOutcome uint8

const (
	refused stepOutcome = iota
	carriedOut
	perhapsCarriedOut // its answer was lost
)

// rollback undoes the steps the kernel carried out. Their undo is worked
// out only now, by replaying exactly those steps on the table as it was:
// a step after a refused one met a table without the refused change, and
// must be undone against that.
func (p *Plan) rollback(ctx context.Context, c *ipvs.Client, outcome []stepOutcome) error {
	t := p.before.Clone()
	type undoing struct {
		ops      []ipvs.Op
		tolerant bool
	}
	var undos []undoing
	for i, o := range outcome {
		if o == refused {
			continue
		}
		u, err := t.Apply(p.Steps[i].Op)
		if err != nil {
			if o == perhapsCarriedOut {
				continue
			}
			return fmt.Errorf("the kernel carried out %q, which the table did not expect: %w", FormatOp(p.Steps[i].Op), err)
		}
		undos = append(undos, undoing{u, o == perhapsCarriedOut})
	}
	var ops []ipvs.Op
	var tolerant []bool
	for i := len(undos) - 1; i >= 0; i-- {
		for _, op := range undos[i].ops {
			ops = append(ops, op)
			tolerant = append(tolerant, undos[i].tolerant)
		}
	}
	results, err := c.Apply(context.WithoutCancel(ctx), ops)
	for i, r := range results {
		if r == nil {
			continue
		}
		// Undoing a step that may never have happened may find nothing
		// to undo.
		if tolerant[i] && (errors.Is(r, unix.ESRCH) || errors.Is(r, unix.ENOENT) || errors.Is(r, unix.EEXIST)) {
			continue
		}
		return r
	}
	return err
}
