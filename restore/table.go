package restore

import (
	"slices"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"golang.org/x/sys/unix"
)

// Table is an in-memory IPVS table: services and their destinations, keyed
// by identity, with the kernel's rules for what may be added, changed and
// removed. It serves three purposes: the state a rules file describes (for
// a sync), the state a run has brought the kernel to (to undo it), and a
// check of rules against the kernel's state before anything is sent.
//
// Every operation costs O(1) (O(destinations) to delete a service).
type Table struct {
	svcs  map[ipvs.ServiceKey]*tableEntry
	order []ipvs.ServiceKey // insertion order; deleted keys are skipped lazily

	// Timeouts are the connection timeouts, where known (zero fields:
	// unknown or unchanged).
	Timeouts ipvs.Timeouts
}

type tableEntry struct {
	svc   ipvs.Service
	dests map[ipvs.DestinationKey]ipvs.Destination
	order []ipvs.DestinationKey // oldest first; the kernel lists them newest first
	seq   int                   // position in Table.order
}

// NewTable returns a Table holding entries (as Snapshot returns them: each
// service's destinations newest first).
func NewTable(entries []ipvs.ServiceEntry) *Table {
	t := &Table{svcs: make(map[ipvs.ServiceKey]*tableEntry, len(entries))}
	for _, e := range entries {
		te := t.add(e.Service)
		// The kernel lists newest first; adding oldest first keeps that.
		for i := len(e.Destinations) - 1; i >= 0; i-- {
			d := e.Destinations[i]
			te.dests[d.Key()] = d
			te.order = append(te.order, d.Key())
		}
	}
	return t
}

func (t *Table) add(s ipvs.Service) *tableEntry {
	s.Stats = ipvs.Stats{}
	s.Family = s.Key().Family
	te := &tableEntry{svc: s, dests: map[ipvs.DestinationKey]ipvs.Destination{}, seq: len(t.order)}
	t.svcs[s.Key()] = te
	t.order = append(t.order, s.Key())
	return te
}

// Clone returns a copy of t that shares nothing with it.
func (t *Table) Clone() *Table {
	c := NewTable(t.Entries())
	c.Timeouts = t.Timeouts
	return c
}

// Len returns the number of services.
func (t *Table) Len() int { return len(t.svcs) }

// Entries returns the table as Snapshot would: services in the order they
// were added, destinations newest first. Counters are zero.
func (t *Table) Entries() []ipvs.ServiceEntry {
	out := make([]ipvs.ServiceEntry, 0, len(t.svcs))
	for i, k := range t.order {
		te, ok := t.svcs[k]
		if !ok || te.seq != i {
			continue // deleted (and maybe added again later)
		}
		e := ipvs.ServiceEntry{Service: te.svc, Destinations: make([]ipvs.Destination, 0, len(te.dests))}
		for j := len(te.order) - 1; j >= 0; j-- {
			e.Destinations = append(e.Destinations, te.dests[te.order[j]])
		}
		out = append(out, e)
	}
	return out
}

// Apply makes the change in the table as the kernel would, and returns the
// operations that undo it, to be carried out in order. It fails, changing
// nothing, with the errno the kernel would return for a missing or
// existing object; it does not know the kernel's schedulers or addresses.
func (t *Table) Apply(op ipvs.Op) (undo []ipvs.Op, err error) {
	if op.Kind == ipvs.OpSetTimeouts {
		old := t.Timeouts
		for _, f := range []struct{ cur, set *time.Duration }{
			{&t.Timeouts.TCP, &op.Timeouts.TCP}, {&t.Timeouts.TCPFin, &op.Timeouts.TCPFin}, {&t.Timeouts.UDP, &op.Timeouts.UDP},
		} {
			if *f.set != 0 {
				*f.cur = *f.set
			}
		}
		return []ipvs.Op{ipvs.SetTimeouts(old)}, nil
	}
	k := op.Service.Key()
	te := t.svcs[k]
	switch op.Kind {
	case ipvs.OpCreateService:
		if te != nil {
			return nil, unix.EEXIST
		}
		t.add(op.Service)
		return []ipvs.Op{ipvs.DeleteService(k)}, nil
	case ipvs.OpUpdateService:
		if te == nil {
			return nil, unix.ESRCH
		}
		old := te.svc
		s := op.Service
		s.Stats, s.Family = ipvs.Stats{}, k.Family
		te.svc = s
		return []ipvs.Op{ipvs.UpdateService(old)}, nil
	case ipvs.OpDeleteService:
		if te == nil {
			return nil, unix.ESRCH
		}
		undo = append(undo, ipvs.CreateService(te.svc))
		for _, dk := range te.order { // oldest first: re-created in the kernel's order
			undo = append(undo, ipvs.CreateDestination(k, te.dests[dk]))
		}
		delete(t.svcs, k)
		return undo, nil
	}
	if te == nil {
		return nil, unix.ESRCH
	}
	d := op.Destination
	d.ActiveConns, d.InactiveConns, d.PersistentConns, d.Stats = 0, 0, 0, ipvs.Stats{}
	dk := d.Key()
	old, exists := te.dests[dk]
	switch op.Kind {
	case ipvs.OpCreateDestination:
		if exists {
			return nil, unix.EEXIST
		}
		te.dests[dk] = d
		te.order = append(te.order, dk)
		return []ipvs.Op{ipvs.DeleteDestination(k, dk)}, nil
	case ipvs.OpUpdateDestination:
		if !exists {
			return nil, unix.ENOENT
		}
		te.dests[dk] = d
		return []ipvs.Op{ipvs.UpdateDestination(k, old)}, nil
	case ipvs.OpDeleteDestination:
		if !exists {
			return nil, unix.ENOENT
		}
		delete(te.dests, dk)
		te.order = slices.DeleteFunc(te.order, func(x ipvs.DestinationKey) bool { return x == dk })
		return []ipvs.Op{ipvs.CreateDestination(k, old)}, nil
	}
	return nil, unix.EINVAL
}

// FlushOps returns the operations that empty the table: one service
// deletion per service (the kernel deletes destinations with them).
func (t *Table) FlushOps() []ipvs.Op {
	var ops []ipvs.Op
	for _, e := range t.Entries() {
		ops = append(ops, ipvs.DeleteService(e.Service.Key()))
	}
	return ops
}

// Diff returns the fewest operations that turn current into desired:
// services and destinations missing from current are created, those that
// differ are updated in place (never removed and added again, so their
// connections and scheduling state survive), and those not in desired are
// deleted. For each service, new destinations come before removed ones, so
// a service keeps serving while its real servers are swapped. Cost: O(N)
// in the number of services and destinations.
func Diff(current, desired []ipvs.ServiceEntry) []ipvs.Op {
	return diffTables(NewTable(current), NewTable(desired))
}

func diffTables(cur, want *Table) []ipvs.Op {
	var ops []ipvs.Op
	for i, k := range want.order {
		d := want.svcs[k]
		if d == nil || d.seq != i {
			continue
		}
		c := cur.svcs[k]
		if c == nil {
			ops = append(ops, ipvs.CreateService(d.svc))
			for _, dk := range d.order {
				ops = append(ops, ipvs.CreateDestination(k, d.dests[dk]))
			}
			continue
		}
		if !sameService(c.svc, d.svc) {
			ops = append(ops, ipvs.UpdateService(d.svc))
		}
		var updates []ipvs.Op
		for _, dk := range d.order {
			dd := d.dests[dk]
			cd, ok := c.dests[dk]
			switch {
			case !ok:
				ops = append(ops, ipvs.CreateDestination(k, dd))
			case !sameDestination(cd, dd):
				updates = append(updates, ipvs.UpdateDestination(k, dd))
			}
		}
		ops = append(ops, updates...)
		for _, dk := range c.order {
			if _, ok := d.dests[dk]; !ok {
				ops = append(ops, ipvs.DeleteDestination(k, dk))
			}
		}
	}
	for i, k := range cur.order {
		if c := cur.svcs[k]; c != nil && c.seq == i && want.svcs[k] == nil {
			ops = append(ops, ipvs.DeleteService(k))
		}
	}
	return ops
}

// sameService compares the configuration the kernel keeps.
func sameService(a, b ipvs.Service) bool {
	return a.Key() == b.Key() && scheduler(a) == scheduler(b) && a.Flags == b.Flags &&
		a.Timeout == b.Timeout && a.Netmask == b.Netmask && a.PEName == b.PEName
}

func scheduler(s ipvs.Service) string {
	if s.Scheduler == "" {
		return "wlc"
	}
	return s.Scheduler
}

// sameDestination compares what a destination update can change.
func sameDestination(a, b ipvs.Destination) bool {
	return a.Key() == b.Key() && a.ForwardMethod == b.ForwardMethod && a.Weight == b.Weight &&
		a.UpperThreshold == b.UpperThreshold && a.LowerThreshold == b.LowerThreshold &&
		a.TunnelType == b.TunnelType && a.TunnelPort == b.TunnelPort && a.TunnelFlags == b.TunnelFlags
}
