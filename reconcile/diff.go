package reconcile

import "github.com/goipvsadm/goipvsadm/ipvs"

// Diff returns the plan with the fewest changes that turn current into
// desired: services and destinations missing from current are created,
// those that differ are updated in place (never deleted and created
// again, so their connections and scheduling state survive), and those not
// in desired are deleted. For each service, new destinations come before
// deleted ones, so a service keeps serving while its real servers are
// swapped. A timeout is set where desired has one that differs from
// current's. Cost: O(N) in the number of services and destinations.
//
// For ApplyAtomic to undo a failed run, current must be the kernel's table
// (as Read returns it) when the plan is applied.
func Diff(current, desired State) *Plan {
	return DiffTable(current, NewTable(desired))
}

// DiffTable is Diff with the desired table built change by change in a
// Table, which it does not change.
func DiffTable(current State, desired *Table) *Plan {
	cur := NewTable(current)
	// Counted first, so that the steps are allocated once rather than
	// grown (which holds the old and the new array at once).
	n := 0
	diffTables(cur, desired, func(Step) { n++ })
	p := &Plan{base: cur}
	p.steps.grow(n + 1)
	diffTables(cur, desired, p.steps.add)
	if t := timeoutChange(current.Timeouts, desired.timeouts); t != (ipvs.Timeouts{}) {
		p.steps.add(Step{Op: ipvs.SetTimeouts(t), Line: int(desired.timeoutsLine)})
	}
	return p
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

// diffTables calls add with each change that turns cur into want; a
// change that sets an object of want carries the line want keeps for it.
func diffTables(cur, want *Table, add func(Step)) {
	for i, k := range want.order {
		d := want.svcs[k]
		if d == nil || d.seq != i {
			continue
		}
		c := cur.svcs[k]
		dest := func(change func(ipvs.ServiceKey, ipvs.Destination) ipvs.Op, it *destItem) Step {
			return Step{Op: change(k, it.cfg.destination(it.key.key())), Line: int(it.line)}
		}
		if c == nil {
			add(Step{Op: ipvs.CreateService(d.svc), Line: int(d.line)})
			for i := range d.dests.items {
				add(dest(ipvs.CreateDestination, &d.dests.items[i]))
			}
			continue
		}
		if !sameService(c.svc, d.svc) {
			add(Step{Op: ipvs.UpdateService(d.svc), Line: int(d.line)})
		}
		var updates []*destItem
		for i := range d.dests.items {
			it := &d.dests.items[i]
			switch j := c.dests.find(it.key); {
			case j < 0:
				add(dest(ipvs.CreateDestination, it))
			case c.dests.items[j].cfg != it.cfg:
				updates = append(updates, it)
			}
		}
		for _, it := range updates {
			add(dest(ipvs.UpdateDestination, it))
		}
		for _, it := range c.dests.items {
			if d.dests.find(it.key) < 0 {
				add(Step{Op: ipvs.DeleteDestination(k, it.key.key())})
			}
		}
	}
	for i, k := range cur.order {
		if c := cur.svcs[k]; c != nil && c.seq == i && want.svcs[k] == nil {
			add(Step{Op: ipvs.DeleteService(k)})
		}
	}
}

// sameService compares the configuration the kernel keeps.
func sameService(a, b ipvs.Service) bool {
	return a.Key() == b.Key() && scheduler(a) == scheduler(b) && a.Flags == b.Flags &&
		a.Timeout == b.Timeout && a.Netmask == b.Netmask && a.PEName == b.PEName
}

func scheduler(s ipvs.Service) string {
	if s.Scheduler == "" {
		return ipvs.DefaultScheduler
	}
	return s.Scheduler
}
