package reconcile

import (
	"fmt"
	"math"
	"slices"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/compact"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Table is an IPVS table in memory, with the kernel's rules for what may
// be created, updated and deleted: build a desired State change by change
// with it, or check changes before they are sent. The zero Table is not
// usable; call NewTable. Every change costs O(1) (O(destinations) to delete
// a service).
type Table struct {
	svcs  map[compact.Key]*tableEntry
	order []*tableEntry // insertion order; deleted entries are skipped lazily
	// free is where the next entries are made: a table of many services
	// allocates them in chunks, not one by one.
	free []tableEntry
	// last is the entry changed last, whose key is lastKey: the changes
	// of a service's destinations follow one another.
	last    *tableEntry
	lastKey compact.Key
	// building is the entry destinations were added to last; its list
	// is in scratch (see adding), and filter holds its keys.
	building *tableEntry
	scratch  []destItem
	filter   destFilter

	timeouts     ipvs.Timeouts // zero fields: unknown or unchanged
	timeoutsLine int32         // the line of the step that last set them (ApplyStep)
	// shared: a plan refers to the table's services and destinations
	// (DiffTable), so its next change first gives it copies of its own.
	shared bool
}

type tableEntry struct {
	svc     compact.Service
	dests   *destList // nil: no destinations (most services of a big table)
	line    int32     // the line of the step that last set the service (ApplyStep)
	deleted bool      // no longer in the table (but in Table.order)
	wanted  bool      // diffTables' mark: the desired table holds it (false outside diffTables)
}

// destEntry is a destination of a Table: its configuration, and the line
// of the step that last set it (ApplyStep; lines past 2^31 are not kept).
type destEntry struct {
	cfg  destConfig
	line int32
}

// destConfig is what the kernel keeps of a destination besides its key:
// what an update can change. A Table holds destinations in this form
// (a fifth of an ipvs.Destination, which also carries counters).
type destConfig struct {
	forward     ipvs.ForwardMethod
	tunnelType  ipvs.TunnelType
	tunnelPort  uint16
	tunnelFlags ipvs.TunnelFlags
	weight      uint32
	upper       uint32
	lower       uint32
}

func configOf(d ipvs.Destination) destConfig {
	return destConfig{
		forward: d.ForwardMethod, tunnelType: d.TunnelType, tunnelPort: d.TunnelPort, tunnelFlags: d.TunnelFlags,
		weight: d.Weight, upper: d.UpperThreshold, lower: d.LowerThreshold,
	}
}

// destination returns the destination of key dk with this configuration.
func (c destConfig) destination(dk ipvs.DestinationKey) ipvs.Destination {
	return ipvs.Destination{
		Addr: dk.Addr, Port: dk.Port, ForwardMethod: c.forward, Weight: c.weight,
		UpperThreshold: c.upper, LowerThreshold: c.lower,
		TunnelType: c.tunnelType, TunnelPort: c.tunnelPort, TunnelFlags: c.tunnelFlags,
	}
}

// NewTable returns a Table holding s.
func NewTable(s State) *Table {
	t := &Table{svcs: make(map[compact.Key]*tableEntry, len(s.Services)), timeouts: s.Timeouts}
	for _, e := range s.Services {
		t.addListed(&e.Service, e.Destinations)
	}
	return t
}

// Grow makes room for n more services, as slices.Grow does for elements:
// a caller that knows how many services it will add saves the growing of
// the table's index on the way.
func (t *Table) Grow(n int) {
	if n <= 0 {
		return
	}
	t.unshare()
	svcs := make(map[compact.Key]*tableEntry, len(t.svcs)+n)
	for k, te := range t.svcs {
		svcs[k] = te
	}
	t.svcs = svcs
	t.order = slices.Grow(t.order, n)
}

// addListed adds a service and its destinations as the kernel lists them
// (newest first).
func (t *Table) addListed(svc *ipvs.Service, dests []ipvs.Destination) {
	k := svc.Key()
	if old := t.svcs[compact.KeyOf(k)]; old != nil {
		old.deleted = true // listed again: the last listing counts
	}
	te := t.add(svc, k)
	if len(dests) > 0 {
		te.dests = &destList{items: make([]destItem, 0, len(dests))}
	}
	// Adding oldest first keeps the kernel's order.
	var held destFilter
	for i := len(dests) - 1; i >= 0; i-- {
		d := &dests[i]
		dk := keyOf(d.Key())
		b := filterBitOf(dk)
		if held.mayHold(b) && te.dests.find(dk) >= 0 {
			continue // its last listing, met first here, counts
		}
		held.add(b)
		te.dests.add(dk, destEntry{cfg: configOf(*d)})
	}
}

// add adds an entry for s, whose key is k.
func (t *Table) add(s *ipvs.Service, k ipvs.ServiceKey) *tableEntry {
	c := *s
	c.Family = k.Family
	return t.addCompact(compact.ServiceOf(c), compact.KeyOf(k))
}

// addCompact adds an entry for s, whose family is set and whose key is k.
func (t *Table) addCompact(s compact.Service, k compact.Key) *tableEntry {
	if len(t.free) == 0 {
		t.free = make([]tableEntry, min(max(len(t.order), 1), maxEntryChunk))
	}
	te := &t.free[0]
	t.free = t.free[1:]
	te.svc = s
	t.svcs[k] = te
	t.order = append(t.order, te)
	return te
}

// maxEntryChunk bounds the chunks a Table's entries are allocated in.
const maxEntryChunk = 1024

// clone returns a copy of t that shares nothing with it, copied entry by
// entry: going through State would hold every destination a second time,
// in the larger form with counters.
func (t *Table) clone() *Table {
	c := &Table{
		svcs:     make(map[compact.Key]*tableEntry, len(t.svcs)),
		order:    make([]*tableEntry, 0, len(t.svcs)),
		timeouts: t.timeouts, timeoutsLine: t.timeoutsLine,
	}
	for _, te := range t.order {
		if te.deleted {
			continue
		}
		ce := c.addCompact(te.svc, te.svc.CompactKey())
		ce.dests, ce.line = te.dests.clone(), te.line
	}
	return c
}

// unshare gives t copies of its own of what a plan refers to (see
// DiffTables), before t changes.
func (t *Table) unshare() {
	if t.shared {
		*t = *t.clone()
	}
}

// State returns the table as Read would: services in the order they were
// created, destinations newest first. Counters are zero.
func (t *Table) State() State {
	return State{Services: t.entries(), Timeouts: t.timeouts}
}

func (t *Table) entries() []ipvs.ServiceEntry {
	out := make([]ipvs.ServiceEntry, 0, len(t.svcs))
	for _, te := range t.order {
		if te.deleted {
			continue
		}
		items := te.dests.all()
		e := ipvs.ServiceEntry{Service: te.svc.Service(), Destinations: make([]ipvs.Destination, 0, len(items))}
		for j := len(items) - 1; j >= 0; j-- {
			it := &items[j]
			e.Destinations = append(e.Destinations, it.cfg.destination(it.key.key()))
		}
		out = append(out, e)
	}
	return out
}

// A ConflictError is a change that cannot apply to a table: what it
// creates exists already, or what it updates or deletes does not exist.
// It matches its sentinel and the errno the kernel would return
// (syscall.EEXIST, ESRCH or ENOENT) with errors.Is.
type ConflictError struct {
	Op ipvs.Op
	// Err is ipvs.ErrServiceExists, ipvs.ErrServiceNotFound,
	// ipvs.ErrDestinationExists or ipvs.ErrDestinationNotFound, or
	// ipvs.ErrInvalid for an Op of no known kind.
	Err error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v %s: %v", e.Op.Kind, object(e.Op), e.Err)
}

// Unwrap returns the sentinel and the kernel's errno for it.
func (e *ConflictError) Unwrap() []error {
	if errno, ok := conflictErrno[e.Err]; ok {
		return []error{e.Err, errno}
	}
	return []error{e.Err}
}

var conflictErrno = map[error]syscall.Errno{
	ipvs.ErrServiceExists:       syscall.EEXIST,
	ipvs.ErrServiceNotFound:     syscall.ESRCH,
	ipvs.ErrDestinationExists:   syscall.EEXIST,
	ipvs.ErrDestinationNotFound: syscall.ENOENT,
	ipvs.ErrInvalid:             syscall.EINVAL,
}

// object names what op changes: "TCP 10.0.0.1:80", "TCP 10.0.0.1:80 ->
// 10.0.1.1:80"; nothing for timeouts.
func object(op ipvs.Op) string {
	switch op.Kind {
	case ipvs.OpSetTimeouts:
		return ""
	case ipvs.OpCreateDestination, ipvs.OpUpdateDestination, ipvs.OpDeleteDestination:
		return op.Service.Key().String() + " -> " + op.Destination.Key().String()
	}
	return op.Service.Key().String()
}

// Apply makes the change in the table as the kernel would. It fails,
// changing nothing, with a *ConflictError when the kernel would refuse the
// change for a missing or existing object; it does not know the kernel's
// schedulers, nor which addresses it accepts.
func (t *Table) Apply(op ipvs.Op) error { return t.apply(&op, 0, nil) }

// ApplyStep is Apply of the step's change, remembering its line for the
// service, destination or timeouts it sets: a step of DiffTable that
// creates or changes an object of the desired table carries that line.
func (t *Table) ApplyStep(s Step) error {
	line := int32(0)
	if s.Line > 0 && s.Line <= math.MaxInt32 {
		line = int32(s.Line)
	}
	return t.apply(&s.Op, line, nil)
}

// apply is Apply, noting line on what the change sets; unless undo is
// nil, it appends to *undo the operations that undo the change, to be
// carried out in order. op is not kept.
func (t *Table) apply(op *ipvs.Op, line int32, undo *[]ipvs.Op) error {
	t.unshare()
	if op.Kind == ipvs.OpSetTimeouts {
		old := t.timeouts
		for _, f := range []struct{ cur, set *time.Duration }{
			{&t.timeouts.TCP, &op.Timeouts.TCP}, {&t.timeouts.TCPFin, &op.Timeouts.TCPFin}, {&t.timeouts.UDP, &op.Timeouts.UDP},
		} {
			if *f.set != 0 {
				*f.cur = *f.set
			}
		}
		t.timeoutsLine = line
		if undo != nil {
			*undo = append(*undo, ipvs.SetTimeouts(old))
		}
		return nil
	}
	k := op.Service.Key()
	ck := compact.KeyOf(k)
	te := t.last
	if te == nil || te.deleted || t.lastKey != ck {
		te = t.svcs[ck]
		t.last, t.lastKey = te, ck
	}
	switch op.Kind {
	case ipvs.OpCreateService:
		if te != nil {
			return &ConflictError{Op: *op, Err: ipvs.ErrServiceExists}
		}
		t.last = t.add(&op.Service, k)
		t.last.line = line
		if undo != nil {
			*undo = append(*undo, ipvs.DeleteService(k))
		}
		return nil
	case ipvs.OpUpdateService:
		if te == nil {
			return &ConflictError{Op: *op, Err: ipvs.ErrServiceNotFound}
		}
		if undo != nil {
			*undo = append(*undo, ipvs.UpdateService(te.svc.Service()))
		}
		s := op.Service
		s.Family = k.Family
		te.svc, te.line = compact.ServiceOf(s), line
		return nil
	case ipvs.OpDeleteService:
		if te == nil {
			return &ConflictError{Op: *op, Err: ipvs.ErrServiceNotFound}
		}
		if undo != nil {
			*undo = append(*undo, ipvs.CreateService(te.svc.Service()))
			for _, it := range te.dests.all() { // oldest first: re-created in the kernel's order
				*undo = append(*undo, ipvs.CreateDestination(k, it.cfg.destination(it.key.key())))
			}
		}
		delete(t.svcs, ck)
		te.deleted = true
		return nil
	case ipvs.OpCreateDestination, ipvs.OpUpdateDestination, ipvs.OpDeleteDestination:
		if te == nil {
			return &ConflictError{Op: *op, Err: ipvs.ErrServiceNotFound}
		}
		if op.Kind == ipvs.OpCreateDestination {
			t.adding(te)
		}
		return t.applyDestination(te, k, op, line, undo)
	}
	return &ConflictError{Op: *op, Err: ipvs.ErrInvalid}
}

// adding readies te for destinations added to it. A service's
// destinations are added one after the other: the list of the entry they
// are added to grows in scratch, a buffer the table reuses, and is copied
// to an array of its own size once destinations are added to another
// entry, instead of being copied at every growth.
func (t *Table) adding(te *tableEntry) {
	if t.building == te {
		return
	}
	if b := t.building; b != nil {
		items := b.dests.items
		b.dests.items = nil
		if len(items) > 0 {
			b.dests.items = slices.Clone(items)
		}
		t.scratch = items[:0] // the array it grew into
	}
	t.building = te
	if te.dests == nil {
		te.dests = &destList{}
	}
	t.scratch = append(t.scratch[:0], te.dests.items...)
	te.dests.items = t.scratch
	t.filter = destFilter{}
	for i := range te.dests.items {
		t.filter.add(filterBitOf(te.dests.items[i].key))
	}
}

// applyDestination is apply for a destination of te, whose key is k.
func (t *Table) applyDestination(te *tableEntry, k ipvs.ServiceKey, op *ipvs.Op, line int32, undo *[]ipvs.Op) error {
	dk := keyOf(op.Destination.Key())
	i, fb := -1, filterBitOf(dk)
	if te != t.building || t.filter.mayHold(fb) {
		i = te.dests.find(dk)
	}
	switch {
	case op.Kind == ipvs.OpCreateDestination && i >= 0:
		return &ConflictError{Op: *op, Err: ipvs.ErrDestinationExists}
	case op.Kind != ipvs.OpCreateDestination && i < 0:
		return &ConflictError{Op: *op, Err: ipvs.ErrDestinationNotFound}
	}
	var was ipvs.Op // what undoes the change
	switch op.Kind {
	case ipvs.OpCreateDestination:
		te.dests.add(dk, destEntry{configOf(op.Destination), line})
		t.filter.add(fb) // te is the entry being built
		if undo == nil {
			return nil
		}
		was = ipvs.DeleteDestination(k, dk.key())
	case ipvs.OpUpdateDestination:
		old := te.dests.items[i].cfg
		te.dests.items[i].destEntry = destEntry{configOf(op.Destination), line}
		if undo == nil {
			return nil
		}
		was = ipvs.UpdateDestination(k, old.destination(dk.key()))
	default:
		old := te.dests.items[i].cfg
		te.dests.removeAt(i)
		if undo == nil {
			return nil
		}
		was = ipvs.CreateDestination(k, old.destination(dk.key()))
	}
	*undo = append(*undo, was)
	return nil
}
