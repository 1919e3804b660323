package restore

import (
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/reconcile"
)

// PlanError is a rules line that cannot be part of a plan: it is no table
// change (ErrNotTableChange), or it cannot apply to the table it would
// meet (a *reconcile.ConflictError). Nothing has been sent to the kernel.
type PlanError struct {
	Line Line
	Err  error
}

func (e *PlanError) Error() string {
	return fmt.Sprintf("line %d: %v", e.Line.Num, e.Err)
}

func (e *PlanError) Unwrap() error { return e.Err }

// ErrNotTableChange: a rule that neither changes the table nor the
// timeouts (a listing, -Z, a sync daemon) has no place in an
// all-or-nothing restore or a sync: it cannot be undone or compared.
var ErrNotTableChange = errors.New("only -A, -E, -D, -a, -e, -d, -C and --set can be part of an all-or-nothing restore or a sync")

// NewPlan returns the changes the rules make, in order, against current,
// the table they will meet (the kernel's, as reconcile.Read returns it).
// -C becomes one deletion per service, so that it can be undone. A
// skipped line is its *SyntaxError; any other line that cannot be part of
// the plan is a *PlanError. Each step carries its rule's line number.
func NewPlan(rules []Rule, current reconcile.State) (*reconcile.Plan, error) {
	return newPlan(slices.Values(rules), len(rules), current)
}

// NewPlan is the package function NewPlan of the rules.
func (rs *Rules) NewPlan(current reconcile.State) (*reconcile.Plan, error) {
	return newPlan(rs.All(), rs.Len(), current)
}

func newPlan(rules iter.Seq[Rule], n int, current reconcile.State) (*reconcile.Plan, error) {
	t := reconcile.NewTable(current)
	plan := reconcile.NewPlan(current, nil)
	plan.Grow(n) // one step per rule, but for -C
	if err := eachStep(rules, t, func(s reconcile.Step) { plan.Append(s) }); err != nil {
		return nil, err
	}
	return plan, nil
}

// eachStep applies the changes of the rules to t in order, each with its
// rule's line, calling fn after each. -C is one deletion per service of t.
func eachStep(rules iter.Seq[Rule], t *reconcile.Table, fn func(s reconcile.Step)) error {
	apply := func(r *Rule, op ipvs.Op) error {
		s := reconcile.Step{Op: op, Line: r.Num}
		if err := t.ApplyStep(s); err != nil {
			return &PlanError{Line: r.Line, Err: err}
		}
		fn(s)
		return nil
	}
	for rule := range rules {
		r := &rule
		switch {
		case r.Skipped != nil:
			return r.Skipped
		case r.Flush:
			for _, e := range t.State().Services {
				if err := apply(r, ipvs.DeleteService(e.Service.Key())); err != nil {
					return err
				}
			}
		case r.Op.Kind == 0:
			return &PlanError{Line: r.Line, Err: ErrNotTableChange}
		default:
			if err := apply(r, r.Op); err != nil {
				return err
			}
		}
	}
	return nil
}

// SyncPlan returns the fewest changes that turn current (the kernel's
// table, as reconcile.Read returns it) into the table the rules describe,
// as reconcile.Diff does. A step that creates or changes an object carries
// the number of the line that last set it (see reconcile.Table.ApplyStep).
// Errors are those of NewPlan.
func SyncPlan(rules []Rule, current reconcile.State) (*reconcile.Plan, error) {
	return syncPlan(slices.Values(rules), current)
}

// SyncPlan is the package function SyncPlan of the rules.
func (rs *Rules) SyncPlan(current reconcile.State) (*reconcile.Plan, error) {
	return syncPlan(rs.All(), current)
}

func syncPlan(rules iter.Seq[Rule], current reconcile.State) (*reconcile.Plan, error) {
	desired := reconcile.NewTable(reconcile.State{})
	if err := eachStep(rules, desired, func(reconcile.Step) {}); err != nil {
		return nil, err
	}
	return reconcile.DiffTable(current, desired), nil
}
