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
	steps := make([]reconcile.Step, 0, n) // one per rule, but for -C
	err := eachOp(rules, t, func(r *Rule, op ipvs.Op) {
		steps = append(steps, reconcile.Step{Op: op, Line: r.Num})
	})
	if err != nil {
		return nil, err
	}
	return reconcile.NewPlan(current, steps), nil
}

// eachOp applies the changes of the rules to t in order, calling fn after
// each. -C is one deletion per service of t.
func eachOp(rules iter.Seq[Rule], t *reconcile.Table, fn func(r *Rule, op ipvs.Op)) error {
	apply := func(r *Rule, op ipvs.Op) error {
		if err := t.Apply(op); err != nil {
			return &PlanError{Line: r.Line, Err: err}
		}
		fn(r, op)
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
// the number of the line that last set it. Errors are those of NewPlan.
func SyncPlan(rules []Rule, current reconcile.State) (*reconcile.Plan, error) {
	return syncPlan(slices.Values(rules), len(rules), current)
}

// SyncPlan is the package function SyncPlan of the rules.
func (rs *Rules) SyncPlan(current reconcile.State) (*reconcile.Plan, error) {
	return syncPlan(rs.All(), rs.Len(), current)
}

func syncPlan(rules iter.Seq[Rule], n int, current reconcile.State) (*reconcile.Plan, error) {
	desired := reconcile.NewTable(reconcile.State{})
	// Which line last set each object, to name it in errors.
	lines := make(map[objectID]int, n)
	err := eachOp(rules, desired, func(r *Rule, op ipvs.Op) {
		if id := idOf(op); id.kind != 0 {
			lines[id] = r.Num
		}
	})
	if err != nil {
		return nil, err
	}
	plan := reconcile.DiffTable(current, desired)
	for i := range plan.Steps {
		plan.Steps[i].Line = lines[idOf(plan.Steps[i].Op)]
	}
	return plan, nil
}

// objectID is what a change sets: a service, a destination, or the
// timeouts. Deletions set nothing.
type objectID struct {
	kind ipvs.OpKind
	svc  ipvs.ServiceKey
	dest ipvs.DestinationKey
}

func idOf(op ipvs.Op) objectID {
	switch op.Kind {
	case ipvs.OpCreateService, ipvs.OpUpdateService:
		return objectID{kind: ipvs.OpCreateService, svc: op.Service.Key()}
	case ipvs.OpCreateDestination, ipvs.OpUpdateDestination:
		return objectID{kind: ipvs.OpCreateDestination, svc: op.Service.Key(), dest: op.Destination.Key()}
	case ipvs.OpSetTimeouts:
		return objectID{kind: ipvs.OpSetTimeouts}
	}
	return objectID{}
}
