package restore

import (
	"errors"
	"fmt"
	"iter"

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
	plan := reconcile.NewPlan(current, nil)
	plan.Grow(len(rules)) // one step per rule, but for -C
	err := eachStep(allOf(rules), nil, reconcile.NewTable(current), func(_ int, s reconcile.Step, _ bool) {
		plan.Append(s)
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// NewPlan is the package function NewPlan of the rules. The plan reads
// its steps from the rules (reconcile.NewPlanFrom), which it keeps.
func (rs *Rules) NewPlan(current reconcile.State) (*reconcile.Plan, error) {
	src := &ruleSteps{rs: rs, recs: make([]int32, 0, rs.Len())}
	err := eachStep(rs.indexed(), rs.Line, reconcile.NewTable(current), func(i int, s reconcile.Step, own bool) {
		if own {
			src.recs = append(src.recs, int32(i))
			return
		}
		src.recs = append(src.recs, int32(-1-len(src.extra)))
		src.extra = append(src.extra, s)
	})
	if err != nil {
		return nil, err
	}
	return reconcile.NewPlanFrom(current, src), nil
}

// ruleSteps are the steps of a plan kept as the rules' records, 4 bytes a
// step: step i is the change of record recs[i], or where that is negative,
// the deletion extra[-1-recs[i]], one of those a -C line became.
type ruleSteps struct {
	rs    *Rules
	recs  []int32
	extra []reconcile.Step
}

func (s *ruleSteps) Len() int { return len(s.recs) }

func (s *ruleSteps) Step(i int) reconcile.Step {
	r := s.recs[i]
	if r < 0 {
		return s.extra[-1-r]
	}
	return s.rs.step(s.rs.rec(int(r)))
}

// Batches returns the rules in input order, to be applied one after
// another as ipvsadm -R applies them: each run of up to n consecutive
// changes as a plan that reads them from the rules (reconcile.PlanOf),
// and each other rule (skipped, -C, a command that changes no table) on
// its own, with a nil plan.
func (rs *Rules) Batches(n int) iter.Seq2[*reconcile.Plan, Rule] {
	return func(yield func(*reconcile.Plan, Rule) bool) {
		start := 0 // the first change not yielded yet
		flush := func(end int) bool {
			if start == end {
				return true
			}
			run := &ruleRun{rs: rs, start: start, n: end - start}
			start = end
			return yield(reconcile.PlanOf(run), Rule{})
		}
		for i := range rs.n {
			rec := rs.rec(i)
			if rec.kind != 0 || rs.others[rec.at].Op.Kind != 0 {
				if i+1-start >= n && !flush(i+1) {
					return
				}
				continue
			}
			if !flush(i) || !yield(nil, rs.others[rec.at]) {
				return
			}
			start = i + 1
		}
		flush(rs.n)
	}
}

// ruleRun is the changes of n consecutive rules from start, as steps.
type ruleRun struct {
	rs       *Rules
	start, n int
	// keyOf is the service whose key is key, plus one: WriteOp is asked
	// for the changes in order, and a service's destinations follow it.
	keyOf int
	key   ipvs.ServiceKey
}

func (r *ruleRun) Len() int { return r.n }

func (r *ruleRun) Step(i int) reconcile.Step {
	return r.rs.step(r.rs.rec(r.start + i))
}

// WriteOp stores step i's change in *o (see reconcile.StepSource).
func (r *ruleRun) WriteOp(i int, o *ipvs.Op) {
	rec := r.rs.rec(r.start + i)
	if rec.kind == 0 {
		*o = r.rs.others[rec.at].Op
		return
	}
	if r.keyOf != int(rec.at)+1 {
		r.keyOf, r.key = int(rec.at)+1, r.rs.service(rec.at).Key()
	}
	r.rs.writeOp(rec, r.key, o)
}

// allOf yields each rule of rules, with its index.
func allOf(rules []Rule) iter.Seq2[int, *Rule] {
	return func(yield func(int, *Rule) bool) {
		for i := range rules {
			if !yield(i, &rules[i]) {
				return
			}
		}
	}
}

// wholeLine is r's line, from lineOf unless that is nil or does not
// know it.
func wholeLine(r *Rule, lineOf func(num int) (Line, bool)) Line {
	if lineOf != nil {
		if l, ok := lineOf(r.Num); ok {
			return l
		}
	}
	return r.Line
}

// eachStep applies the changes of the rules to t in order, each with its
// rule's line, calling fn after each with the rule's index; own is false
// for the deletions a -C line becomes. A rule's whole line, for an error,
// is lineOf's (see wholeLine).
func eachStep(rules iter.Seq2[int, *Rule], lineOf func(num int) (Line, bool), t *reconcile.Table, fn func(i int, s reconcile.Step, own bool)) error {
	apply := func(i int, r *Rule, op ipvs.Op, own bool) error {
		s := reconcile.Step{Op: op, Line: r.Num}
		if err := t.ApplyStep(s); err != nil {
			return &PlanError{Line: wholeLine(r, lineOf), Err: err}
		}
		fn(i, s, own)
		return nil
	}
	for i, r := range rules {
		switch {
		case r.Skipped != nil:
			return r.Skipped
		case r.Flush:
			for _, e := range t.State().Services {
				if err := apply(i, r, ipvs.DeleteService(e.Service.Key()), false); err != nil {
					return err
				}
			}
		case r.Op.Kind == 0:
			return &PlanError{Line: wholeLine(r, lineOf), Err: ErrNotTableChange}
		default:
			if err := apply(i, r, r.Op, true); err != nil {
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
	return syncPlan(allOf(rules), nil, current)
}

// SyncPlan is the package function SyncPlan of the rules.
func (rs *Rules) SyncPlan(current reconcile.State) (*reconcile.Plan, error) {
	return syncPlan(rs.indexed(), rs.Line, current)
}

// SyncPlanTable is SyncPlan with the current table in a Table, as
// reconcile.ReadTable reads it; the plan keeps its contents as they are
// now.
func (rs *Rules) SyncPlanTable(current *reconcile.Table) (*reconcile.Plan, error) {
	desired := reconcile.NewTable(reconcile.State{})
	desired.Grow(int(rs.nServices))
	return syncPlanTable(rs.indexed(), rs.Line, current, desired)
}

func syncPlan(rules iter.Seq2[int, *Rule], lineOf func(num int) (Line, bool), current reconcile.State) (*reconcile.Plan, error) {
	return syncPlanTable(rules, lineOf, reconcile.NewTable(current), reconcile.NewTable(reconcile.State{}))
}

// syncPlanTable builds desired, which is empty, from the rules and
// returns the plan that turns current into it.
func syncPlanTable(rules iter.Seq2[int, *Rule], lineOf func(num int) (Line, bool), current, desired *reconcile.Table) (*reconcile.Plan, error) {
	if err := eachStep(rules, lineOf, desired, func(int, reconcile.Step, bool) {}); err != nil {
		return nil, err
	}
	return reconcile.DiffTables(current, desired), nil
}
