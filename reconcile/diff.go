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
// Table, which it does not change. The plan refers to desired's objects
// rather than copying them; a later change to desired does not reach the
// plan (desired copies itself first).
func DiffTable(current State, desired *Table) *Plan {
	return DiffTables(NewTable(current), desired)
}

// DiffTables is DiffTable with the current table in a Table too (for
// ApplyAtomic, the kernel's: NewTable of Read's State). The plan refers
// to both tables' objects; a later change to either does not reach it.
// Building the current Table first lets a caller drop the State it came
// from before it builds the desired one, which a big table then does not
// meet in memory.
func DiffTables(current, desired *Table) *Plan {
	cur := current
	src := &diffSteps{}
	diffTables(cur, desired, src.add)
	// Both tables copy themselves before their next change; the plan
	// keeps the current one's contents as they are now.
	desired.shared = true
	cur.shared = true
	base := *cur
	p := &Plan{src: src, base: &base}
	if t := timeoutChange(cur.timeouts, desired.timeouts); t != (ipvs.Timeouts{}) {
		p.steps.add(Step{Op: ipvs.SetTimeouts(t), Line: int(desired.timeoutsLine)})
	}
	return p
}

// diffSteps are the steps of a diff as references to the services and
// destinations of the two tables, which do not change: 12 bytes a step,
// where a plan's own step takes about 70.
type diffSteps struct {
	ents []*tableEntry // the services the steps name, in turn
	// refs holds the steps in chunks of refChunk: a plan of many steps
	// grows without holding an old and a new array at once.
	refs [][]diffRef
	n    int
}

const refChunk = 4096

type diffRef struct {
	ent  int32 // in ents
	item int32 // the destination in ents[ent].dests.items; -1: the service
	kind ipvs.OpKind
}

func (d *diffSteps) add(kind ipvs.OpKind, e *tableEntry, item int) {
	if n := len(d.ents); n == 0 || d.ents[n-1] != e {
		d.ents = append(d.ents, e)
	}
	if len(d.refs) == 0 || len(d.refs[len(d.refs)-1]) == refChunk {
		d.refs = append(d.refs, nil)
	}
	last := &d.refs[len(d.refs)-1]
	*last = append(*last, diffRef{ent: int32(len(d.ents) - 1), item: int32(item), kind: kind})
	d.n++
}

func (d *diffSteps) Len() int { return d.n }

// Step returns step i: a creation or an update with the line that set the
// object in the desired table, a deletion without a line.
func (d *diffSteps) Step(i int) Step {
	r := d.refs[i/refChunk][i%refChunk]
	e := d.ents[r.ent]
	if r.item < 0 {
		switch r.kind {
		case ipvs.OpCreateService:
			return Step{Op: ipvs.CreateService(e.svc.Service()), Line: int(e.line)}
		case ipvs.OpUpdateService:
			return Step{Op: ipvs.UpdateService(e.svc.Service()), Line: int(e.line)}
		}
		return Step{Op: ipvs.DeleteService(e.svc.Key())}
	}
	k := e.svc.Key()
	it := &e.dests.items[r.item]
	switch r.kind {
	case ipvs.OpCreateDestination:
		return Step{Op: ipvs.CreateDestination(k, it.cfg.destination(it.key.key())), Line: int(it.line)}
	case ipvs.OpUpdateDestination:
		return Step{Op: ipvs.UpdateDestination(k, it.cfg.destination(it.key.key())), Line: int(it.line)}
	}
	return Step{Op: ipvs.DeleteDestination(k, it.key.key())}
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

// diffTables calls add with each change that turns cur into want, and
// the service (of want for a creation or an update, of cur for a
// deletion) and destination (its index; -1: none) it is about.
func diffTables(cur, want *Table, add func(kind ipvs.OpKind, e *tableEntry, item int)) {
	for _, d := range want.order {
		if d.deleted {
			continue
		}
		c := cur.svcs[d.svc.CompactKey()]
		if c != nil {
			c.wanted = true
		}
		if c == nil {
			add(ipvs.OpCreateService, d, -1)
			for i := range d.dests.all() {
				add(ipvs.OpCreateDestination, d, i)
			}
			continue
		}
		if c.svc != d.svc && !sameService(c.svc.Service(), d.svc.Service()) {
			add(ipvs.OpUpdateService, d, -1)
		}
		if sameKeys(c.dests, d.dests) {
			// The same destinations in the same order, as after a
			// restore of the same rules: no lookups.
			for i := range d.dests.all() {
				if c.dests.items[i].cfg != d.dests.items[i].cfg {
					add(ipvs.OpUpdateDestination, d, i)
				}
			}
			continue
		}
		var updates []int
		for i := range d.dests.all() {
			it := &d.dests.items[i]
			switch j := c.dests.find(it.key); {
			case j < 0:
				add(ipvs.OpCreateDestination, d, i)
			case c.dests.items[j].cfg != it.cfg:
				updates = append(updates, i)
			}
		}
		for _, i := range updates {
			add(ipvs.OpUpdateDestination, d, i)
		}
		for i, it := range c.dests.all() {
			if d.dests.find(it.key) < 0 {
				add(ipvs.OpDeleteDestination, c, i)
			}
		}
	}
	// The services of cur that want does not hold are those the loop
	// above did not mark: no lookups.
	for _, c := range cur.order {
		if !c.deleted && !c.wanted {
			add(ipvs.OpDeleteService, c, -1)
		}
		c.wanted = false
	}
}

// sameKeys reports whether two lists hold the same destinations in the
// same order.
func sameKeys(a, b *destList) bool {
	ai, bi := a.all(), b.all()
	if len(ai) != len(bi) {
		return false
	}
	for i := range ai {
		if ai[i].key != bi[i].key {
			return false
		}
	}
	return true
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
