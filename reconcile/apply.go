package reconcile

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Apply carries out the plan on c, best effort: like ipvsadm -R it sends
// every step, many per system call, and goes on after a failed one. It
// returns nil when every step succeeded, else an *ApplyError with each
// failed step.
func (p *Plan) Apply(ctx context.Context, c *ipvs.Client) error {
	if p.Len() == 0 {
		return nil
	}
	var failed []*StepError
	var err error
	cur := opsPool.Get().(*[]ipvs.Op)
	defer opsPool.Put(cur)
	var next *[]ipvs.Op // built beside cur's applying, with more than one CPU
	if p.Len() > applyChunk && buildAheadOn() {
		next = opsPool.Get().(*[]ipvs.Op)
		defer opsPool.Put(next)
	}
	ops := p.ops(cur, 0, min(applyChunk, p.Len()))
	for start := 0; start < p.Len(); start += applyChunk {
		end := min(start+applyChunk, p.Len())
		var built chan []ipvs.Op
		if next != nil && end < p.Len() {
			built = make(chan []ipvs.Op, 1)
			go func() { built <- p.ops(next, end, min(end+applyChunk, p.Len())) }()
		}
		results, cerr := c.Apply(ctx, ops)
		if built != nil {
			// The plan's source is used by one goroutine at a time:
			// the failed steps are looked up once the next are built.
			ops = <-built
			cur, next = next, cur
		} else if end < p.Len() {
			ops = p.ops(cur, end, min(end+applyChunk, p.Len()))
		}
		for i, r := range results {
			if r != nil {
				failed = append(failed, &StepError{Step: p.Step(start + i), Err: r})
			}
		}
		if cerr != nil {
			err = cerr
		}
	}
	if len(failed) > 0 {
		return &ApplyError{Failed: failed}
	}
	return err
}

// buildAheadOn reports whether Apply builds the next batch of changes
// while the Client applies one (tests set it).
var buildAheadOn = func() bool { return runtime.GOMAXPROCS(0) > 1 }

// applyChunk is how many steps Apply hands to the Client at once: a few of
// its windows, without a copy of a big plan's every change.
const applyChunk = 4096

// opsPool holds the buffers Apply and ApplyAtomic hand the Client the
// changes in (the Client keeps none): a restore applies one batch after
// another.
var opsPool = sync.Pool{New: func() any { return new([]ipvs.Op) }}

// ops returns the changes of steps start to end, in *buf.
func (p *Plan) ops(buf *[]ipvs.Op, start, end int) []ipvs.Op {
	ops := slices.Grow((*buf)[:0], end-start)[:end-start]
	w, _ := p.src.(opWriter)
	n := p.srcLen()
	for i := start; i < end; i++ {
		if w != nil && i < n {
			w.WriteOp(i, &ops[i-start])
		} else {
			ops[i-start] = p.Step(i).Op
		}
	}
	*buf = ops
	return ops
}

// ApplyError lists the steps of a Plan.Apply that failed.
type ApplyError struct {
	Failed []*StepError // in the plan's order
}

func (e *ApplyError) Error() string {
	if len(e.Failed) == 1 {
		return e.Failed[0].Error()
	}
	return fmt.Sprintf("%d changes failed, the first: %v", len(e.Failed), e.Failed[0])
}

// Unwrap returns the failed steps' errors.
func (e *ApplyError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f
	}
	return errs
}

// AtomicError is a Plan.ApplyAtomic that did not go through.
type AtomicError struct {
	Step Step  // the first step that failed
	Err  error // the kernel's answer to it
	// Rollback is nil when every change of the run was undone and the
	// table is as it was; otherwise the undo failed and the table is NOT
	// as it was.
	Rollback error
}

func (e *AtomicError) Error() string {
	msg := (&StepError{Step: e.Step, Err: e.Err}).Error()
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

// ApplyAtomic carries out the plan on c, all or nothing. Every step is
// first checked against the table the plan was made for (the kernel's,
// read now, for a plan not made by Diff or NewPlan): a step that cannot
// apply is a *StepError, and nothing is sent. When the kernel refuses a
// step, every step it carried out is undone, newest first, and an
// *AtomicError names the failed step. Undoing is not cancelled with ctx.
func (p *Plan) ApplyAtomic(ctx context.Context, c *ipvs.Client) error {
	if p.Len() == 0 {
		return nil
	}
	base, err := p.baseFor(ctx, c)
	if err != nil {
		return err
	}
	if err := p.check(base.clone()); err != nil {
		return err
	}
	outcome := make([]stepOutcome, 0, p.Len())
	buf := opsPool.Get().(*[]ipvs.Op)
	defer opsPool.Put(buf)
	for start := 0; start < p.Len(); start += atomicChunk {
		end := min(start+atomicChunk, p.Len())
		ops := p.ops(buf, start, end)
		results, err := c.Apply(ctx, ops)
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
			return &AtomicError{Step: p.Step(failed), Err: ferr, Rollback: p.rollback(ctx, c, base, outcome)}
		}
	}
	return nil
}

// baseFor returns the table the plan is to meet: the one it was made for,
// with the kernel's timeouts filled in where it did not know them and the
// plan sets them (to undo that), or the kernel's whole table.
func (p *Plan) baseFor(ctx context.Context, c *ipvs.Client) (*Table, error) {
	if p.base == nil {
		s, err := Read(ctx, c, ipvs.SkipStats)
		if err != nil {
			return nil, err
		}
		return NewTable(s), nil
	}
	t := p.base.timeouts
	if t.TCP != 0 && t.TCPFin != 0 && t.UDP != 0 || !p.setsTimeouts() {
		return p.base, nil
	}
	kt, err := c.Timeouts(ctx)
	if err != nil {
		return nil, err
	}
	base := *p.base
	for _, f := range []struct{ have, kernel *time.Duration }{
		{&base.timeouts.TCP, &kt.TCP}, {&base.timeouts.TCPFin, &kt.TCPFin}, {&base.timeouts.UDP, &kt.UDP},
	} {
		if *f.have == 0 {
			*f.have = *f.kernel
		}
	}
	return &base, nil
}

func (p *Plan) setsTimeouts() bool {
	if len(p.steps.timeouts) > 0 {
		return true
	}
	for i := range p.srcLen() {
		if p.src.Step(i).Op.Kind == ipvs.OpSetTimeouts {
			return true
		}
	}
	return false
}

type stepOutcome uint8

const (
	refused stepOutcome = iota
	carriedOut
	perhapsCarriedOut // its answer was lost
)

// rollback undoes the steps the kernel carried out. Their undo is worked
// out only now, by replaying exactly those steps on the base table: a step
// after a refused one met a table without the refused change, and must be
// undone against that.
func (p *Plan) rollback(ctx context.Context, c *ipvs.Client, base *Table, outcome []stepOutcome) error {
	t := base.clone()
	// undo holds each replayed step's undo operations, in order; step
	// s's are undo[start[s]:start[s+1]].
	var undo []ipvs.Op
	type replayed struct {
		start    int
		tolerant bool
	}
	var done []replayed
	for i, o := range outcome {
		if o == refused {
			continue
		}
		start := len(undo)
		s := p.Step(i)
		if err := t.apply(&s.Op, 0, &undo); err != nil {
			if o == perhapsCarriedOut {
				continue
			}
			return fmt.Errorf("the kernel carried out %q, which the table did not expect: %w", p.Step(i), err)
		}
		done = append(done, replayed{start, o == perhapsCarriedOut})
	}
	// Newest first, each step's undo in its own order.
	ops := make([]ipvs.Op, 0, len(undo))
	tolerant := make([]bool, 0, len(undo))
	end := len(undo)
	for i := len(done) - 1; i >= 0; i-- {
		for _, op := range undo[done[i].start:end] {
			ops = append(ops, op)
			tolerant = append(tolerant, done[i].tolerant)
		}
		end = done[i].start
	}
	results, err := c.Apply(context.WithoutCancel(ctx), ops)
	for i, r := range results {
		if r == nil {
			continue
		}
		// Undoing a step that may never have happened may find nothing
		// to undo.
		if tolerant[i] && (errors.Is(r, ipvs.ErrServiceNotFound) || errors.Is(r, ipvs.ErrDestinationNotFound) ||
			errors.Is(r, ipvs.ErrServiceExists) || errors.Is(r, ipvs.ErrDestinationExists)) {
			continue
		}
		return r
	}
	return err
}
