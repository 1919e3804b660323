// Package reconcile brings an IPVS table to a desired state with the
// fewest changes, best effort or all or nothing.
//
// A State is a table as plain values: services with their destinations
// (as ipvs.Client.Snapshot returns them) and the connection timeouts.
// Diff compares the current State (from Read, or given) with the desired
// one and returns a Plan:
//
//	current, err := reconcile.Read(ctx, c, ipvs.SkipStats) // no counters needed
//	if err != nil { ... }
//	plan := reconcile.Diff(current, desired)
//	fmt.Print(plan)                // the changes as ipvsadm command lines
//	err = plan.ApplyAtomic(ctx, c) // all or nothing
//
// The plan holds only what differs. A service or destination whose
// configuration differs is updated in place, never deleted and created
// again, so its connections and scheduling state survive; what the desired
// State does not hold is deleted. For each service, new destinations are
// created before old ones are deleted, so it keeps serving while its real
// servers are swapped. Computing a plan costs O(N) in the number of
// services and destinations.
//
// # Applying a plan
//
// Plan.Apply sends every step, many per system call, and goes on after a
// failed one, as ipvsadm -R does; it reports each failure. Plan.ApplyAtomic
// first checks every step against the table the plan was made for (a step
// that cannot apply sends nothing), then applies them; when the kernel
// refuses a step, it undoes every change the kernel carried out, newest
// first, so the table and timeouts are as they were.
//
// Any Plan can be applied, including the zero Plan and one built by hand
// with Append or PlanOf: a plan not made by Diff, DiffTable, NewPlan or
// NewPlanFrom is checked against the kernel's table, read just before it
// is applied.
//
// # Memory
//
// A plan keeps its steps in a compact form, about 70 bytes a step, and a
// Table 60 to 90 bytes a destination: a plan for a million destinations
// and the table it is checked against take about 150 megabytes. A plan from NewPlanFrom or
// PlanOf keeps no steps of its own: it reads them from a StepSource (restore.Rules keeps a rules
// file's changes in 64 bytes a line).
//
// # Errors
//
// Errors name the object they are about. A step that cannot apply to the
// table (a service that exists already, a destination of a service that
// does not exist) is a *StepError wrapping a *ConflictError; it matches
// the ipvs sentinels (ipvs.ErrServiceExists, ...) with errors.Is. A step
// the kernel refuses is a *StepError wrapping the Client's *ipvs.OpError.
// Plan.Apply returns an *ApplyError listing every failed step;
// Plan.ApplyAtomic an *AtomicError saying whether the undo succeeded.
//
// The package does not depend on the ipvsadm command line: reading rules
// files into plans is package restore's work, writing a table as rules
// package save's.
package reconcile
