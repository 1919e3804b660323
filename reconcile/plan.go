package reconcile

import (
	"fmt"
	"io"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// A Plan is a list of changes to an IPVS table, with (when it comes from
// Diff or NewPlan) the table it was made for. Steps may be changed or
// built by hand; the zero Plan changes nothing.
type Plan struct {
	Steps []Step
	// base is the table the plan was made for, from which ApplyAtomic
	// checks the steps and undoes a failed run; nil: the kernel's, read
	// when the plan is applied.
	base *Table
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
	return &Plan{Steps: steps, base: NewTable(current)}
}

// check applies the steps to t, which they change.
func (p *Plan) check(t *Table) error {
	for i := range p.Steps {
		if err := t.apply(p.Steps[i].Op, nil); err != nil {
			return &StepError{Step: p.Steps[i], Err: err}
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
	for _, s := range p.Steps {
		line = append(appendOp(line[:0], s.Op), '\n')
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
