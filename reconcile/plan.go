package reconcile

import (
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// A Plan is a list of changes to an IPVS table, with (when it comes from
// Diff, DiffTable, NewPlan or NewPlanFrom) the table it was made for. The
// zero Plan changes nothing; Append adds steps to any plan. A plan keeps
// its steps in a compact form (about 70 bytes each, where an ipvs.Op takes
// 344), and without the counters of their destinations, which mean nothing
// in a change; or it reads them from a StepSource, or (from DiffTable) from
// the objects of its tables.
type Plan struct {
	src   StepSource // the first steps, if not nil
	steps stepList   // the steps after src's
	// base is the table the plan was made for, from which ApplyAtomic
	// checks the steps and undoes a failed run; nil: the kernel's, read
	// when the plan is applied.
	base *Table
}

// A StepSource holds steps kept elsewhere, read by index each time a plan
// needs them (to check, send, undo or print them): restore.Rules keeps a
// rules file's changes that way, in less room than a plan's own steps. It
// must give the same steps for as long as the plan is used.
//
// A source may also have a method WriteOp(i int, o *ipvs.Op) that stores
// Step(i).Op in *o: Apply then asks for the changes that way, without
// copying each (an ipvs.Op takes 344 bytes) through a returned Step.
type StepSource interface {
	Len() int
	Step(i int) Step
}

// An opWriter is a StepSource with WriteOp.
type opWriter interface {
	WriteOp(i int, o *ipvs.Op)
}

// NewPlanFrom is NewPlan with the steps of src, which the plan reads when
// it needs them instead of keeping a copy.
func NewPlanFrom(current State, src StepSource) *Plan {
	return &Plan{src: src, base: NewTable(current)}
}

// PlanOf returns a plan of src's steps, which it reads when it needs them,
// made for no table: as a plan built with Append, it is checked against
// the kernel's table when ApplyAtomic applies it.
func PlanOf(src StepSource) *Plan {
	return &Plan{src: src}
}

func (p *Plan) srcLen() int {
	if p.src == nil {
		return 0
	}
	return p.src.Len()
}

// Len returns the number of steps.
func (p *Plan) Len() int {
	if p == nil {
		return 0
	}
	return p.srcLen() + p.steps.len()
}

// Step returns step i, which must be in [0, Len()).
func (p *Plan) Step(i int) Step {
	n := p.srcLen()
	if i < n {
		return p.src.Step(i)
	}
	return p.steps.step(i - n)
}

// All returns the steps in order, with their indexes.
func (p *Plan) All() iter.Seq2[int, Step] {
	return func(yield func(int, Step) bool) {
		for i := range p.Len() {
			if !yield(i, p.Step(i)) {
				return
			}
		}
	}
}

// Grow makes room for n more steps, as slices.Grow does: a plan built step
// by step to a known size is allocated once.
func (p *Plan) Grow(n int) { p.steps.grow(n) }

// Append adds steps at the end of the plan.
func (p *Plan) Append(steps ...Step) {
	p.steps.grow(len(steps))
	for _, s := range steps {
		p.steps.add(s)
	}
}

// A Step is one change of a Plan.
type Step struct {
	Op ipvs.Op
	// Line is the number of the rules line the step comes from (see
	// package restore), or 0.
	Line int
}

// String returns the step as an ipvsadm command line (without "ipvsadm"),
// numeric and complete: unlike ipvsadm -S it keeps thresholds, a netmask
// without persistence and firewall marks of 2^31 and more, so that
// ipvsadm -R makes exactly the change the step describes.
func (s Step) String() string { return string(appendOp(nil, s.Op)) }

// NewPlan returns a plan of steps for current, the table they will meet.
// Nothing is checked yet: ApplyAtomic checks every step against current
// before it sends anything (Table checks steps one at a time).
func NewPlan(current State, steps []Step) *Plan {
	p := &Plan{base: NewTable(current)}
	p.Append(steps...)
	return p
}

// check applies the steps to t, which they change.
func (p *Plan) check(t *Table) error {
	for i := range p.Len() {
		s := p.Step(i)
		if err := t.apply(&s.Op, 0, nil); err != nil {
			return &StepError{Step: s, Err: err}
		}
	}
	return nil
}

// String returns the plan as ipvsadm command lines, one per step, each
// ending in a newline: fed to ipvsadm -R, they make the same changes.
func (p *Plan) String() string {
	var b strings.Builder
	p.WriteTo(&b) //nolint:errcheck // a strings.Builder does not fail
	return b.String()
}

// WriteTo writes the plan as String does.
func (p *Plan) WriteTo(w io.Writer) (int64, error) {
	if p == nil {
		return 0, nil
	}
	var n int64
	var line []byte
	for i := range p.Len() {
		line = append(appendOp(line[:0], p.Step(i).Op), '\n')
		m, err := w.Write(line)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// A StepError is a step that failed: it cannot apply to the table it
// would meet (Err is a *ConflictError, and nothing was sent), or the kernel
// refused it (Err is the Client's error).
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string {
	if e.Step.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Step.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }
