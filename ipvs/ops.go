package ipvs

import (
	"cmp"
	"context"
	"fmt"
	"syscall"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
)

// OpKind is the kind of change an Op makes.
type OpKind uint8

// Kinds of Op.
const (
	OpCreateService OpKind = iota + 1
	OpUpdateService
	OpDeleteService
	OpCreateDestination
	OpUpdateDestination
	OpDeleteDestination
	OpSetTimeouts
)

// An Op is one change to the table, for Apply. Build it with
// CreateService, UpdateService, DeleteService, CreateDestination,
// UpdateDestination or DeleteDestination.
type Op struct {
	Kind OpKind
	// Service is the service to create or update, or (only its key
	// counts) the service to delete or whose destination changes.
	Service Service
	// Destination is the destination to create, update or delete (only
	// its key counts for a delete).
	Destination Destination
	// Timeouts are the connection timeouts of OpSetTimeouts (a zero
	// field keeps the current value).
	Timeouts Timeouts
}

// CreateService is the Op of Client.CreateService.
func CreateService(s Service) Op { return Op{Kind: OpCreateService, Service: s} }

// UpdateService is the Op of Client.UpdateService.
func UpdateService(s Service) Op { return Op{Kind: OpUpdateService, Service: s} }

// DeleteService is the Op of Client.DeleteService.
func DeleteService(k ServiceKey) Op { return Op{Kind: OpDeleteService, Service: serviceOf(k)} }

// CreateDestination is the Op of Client.CreateDestination.
func CreateDestination(k ServiceKey, d Destination) Op {
	return Op{Kind: OpCreateDestination, Service: serviceOf(k), Destination: d}
}

// UpdateDestination is the Op of Client.UpdateDestination.
func UpdateDestination(k ServiceKey, d Destination) Op {
	return Op{Kind: OpUpdateDestination, Service: serviceOf(k), Destination: d}
}

// DeleteDestination is the Op of Client.DeleteDestination.
func DeleteDestination(k ServiceKey, dk DestinationKey) Op {
	return Op{Kind: OpDeleteDestination, Service: serviceOf(k), Destination: Destination{Addr: dk.Addr, Port: dk.Port}}
}

// SetTimeouts is the Op of Client.SetTimeouts.
func SetTimeouts(t Timeouts) Op { return Op{Kind: OpSetTimeouts, Timeouts: t} }

// opKinds holds each kind's name, for errors and String, and its generic
// netlink command. Index 0 is no kind.
var opKinds = [...]struct {
	name string
	cmd  uint8
}{
	OpCreateService:     {"create service", uapi.CmdNewService},
	OpUpdateService:     {"update service", uapi.CmdSetService},
	OpDeleteService:     {"delete service", uapi.CmdDelService},
	OpCreateDestination: {"create destination", uapi.CmdNewDest},
	OpUpdateDestination: {"update destination", uapi.CmdSetDest},
	OpDeleteDestination: {"delete destination", uapi.CmdDelDest},
	OpSetTimeouts:       {"set timeouts", uapi.CmdSetConfig},
}

func (k OpKind) known() bool { return k != 0 && int(k) < len(opKinds) }

// setsService and setsDestination report whether an op of kind k carries
// a whole service, or a whole destination, rather than only its key.
func (k OpKind) setsService() bool     { return k == OpCreateService || k == OpUpdateService }
func (k OpKind) setsDestination() bool { return k == OpCreateDestination || k == OpUpdateDestination }

func (k OpKind) String() string {
	if k.known() {
		return opKinds[k].name
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// object names what the op changes, for errors.
func (o Op) object() string {
	if o.Kind == OpSetTimeouts {
		return ""
	}
	k := o.Service.Key()
	if o.Kind >= OpCreateDestination {
		return k.String() + " -> " + o.Destination.Key().String()
	}
	return k.String()
}

// prepare checks o and appends its request's attributes to e.
func (o *Op) prepare(e *attrEncoder) (request, error) {
	k := o.Service.Key()
	if err := o.check(k); err != nil {
		return request{}, err
	}
	return o.encode(e, k), nil
}

// check refuses what the kernel would refuse, or misread, before o is
// sent; k is o.Service.Key().
func (o *Op) check(k ServiceKey) error {
	if !o.Kind.known() {
		return invalidf(syscall.EINVAL, "unknown operation %d", uint8(o.Kind))
	}
	if o.Kind == OpSetTimeouts {
		_, err := timeoutAttrs(o.Timeouts)
		return err
	}
	if err := validateService(&o.Service, k, o.Kind.setsService()); err != nil {
		return err
	}
	if o.Kind >= OpCreateDestination {
		return validateDestination(k, &o.Destination, o.Kind.setsDestination())
	}
	return nil
}

// encode appends the attributes of o's request at the end of e.b; o has
// passed check, and k is o.Service.Key(). (The request keeps its own part
// of e.b, which stays valid as the buffer moves on.)
func (o *Op) encode(e *attrEncoder, k ServiceKey) request {
	cmd := opKinds[o.Kind].cmd
	if o.Kind == OpSetTimeouts {
		a, _ := timeoutAttrs(o.Timeouts)
		return ack(cmd, a)
	}
	start := len(e.b)
	o.encodeAttrs(e, k)
	return ack(cmd, e.b[start:len(e.b):len(e.b)])
}

// appendRequest appends o's request, with flags and seq, to b: what
// appendRequest of encode's request appends, without copying the
// attributes.
func (o *Op) appendRequest(b []byte, family uint16, flags netlink.HeaderFlags, seq uint32, k ServiceKey) []byte {
	if o.Kind == OpSetTimeouts {
		return appendRequest(b, family, flags, seq, o.encode(&attrEncoder{}, k))
	}
	start := len(b)
	e := attrEncoder{b: appendRequestHeader(b, family, flags, seq, opKinds[o.Kind].cmd)}
	o.encodeAttrs(&e, k)
	return endRequest(e.b, start)
}

// encodeAttrs appends the SERVICE nest of an op other than OpSetTimeouts,
// and its DEST nest if it has one.
func (o *Op) encodeAttrs(e *attrEncoder, k ServiceKey) {
	n := e.nest(uapi.CmdAttrService)
	if o.Kind.setsService() {
		encodeService(e, &o.Service)
	} else {
		e.b = appendServiceKey(e.b, k)
	}
	e.end(n)
	if o.Kind >= OpCreateDestination {
		n := e.nest(uapi.CmdAttrDest)
		e.b = appendDestination(e.b, &o.Destination, o.Kind.setsDestination())
		e.end(n)
	}
}

// errorFor wraps the kernel's (or the transport's) answer to the op.
func (o Op) errorFor(err error) error {
	if err == nil {
		return nil
	}
	specific := serviceErrors
	switch o.Kind {
	case OpCreateService, OpUpdateService:
		specific = serviceWriteErrors
	case OpCreateDestination, OpUpdateDestination:
		err = explainDestinationError(o.Destination, err)
		specific = destErrors
	case OpDeleteDestination:
		specific = destErrors
	case OpSetTimeouts:
		specific = nil
	}
	return opError(o.Kind.String(), o.object(), err, specific)
}

// apply1 carries out one op and waits for its acknowledgement.
func (c *Client) apply1(ctx context.Context, o Op) error {
	k := o.Service.Key()
	if err := o.check(k); err != nil {
		return o.errorFor(err)
	}
	return o.errorFor(c.session(ctx, func(l link) error {
		e := attrEncoder{b: c.opBuf[:0]}
		r := o.encode(&e, k)
		c.opBuf = e.b
		r.modulesLoaded = c.modulesLoadedLocked(&o)
		_, err := c.doOn(l, r)
		if err == nil {
			c.noteModulesLocked(&o)
		}
		return err
	}))
}

// A module is a scheduler or a persistence engine, as Client.loaded
// knows them.
type module struct {
	pe   bool // a persistence engine, else a scheduler
	name string
}

// modules returns the modules a service change needs: its scheduler and
// its persistence engine (the latter's name empty if it has none).
func (o *Op) modules() (sched, pe module, ok bool) {
	if !o.Kind.setsService() {
		return module{}, module{}, false
	}
	sched = module{name: cmp.Or(o.Service.Scheduler, DefaultScheduler)}
	return sched, module{pe: true, name: o.Service.PEName}, true
}

// modulesLoadedLocked reports whether the modules o needs are loaded.
func (c *Client) modulesLoadedLocked(o *Op) bool {
	sched, pe, ok := o.modules()
	return ok && c.loaded[sched] && (pe.name == "" || c.loaded[pe])
}

// noteModulesLocked records the modules of a service change the kernel
// carried out.
func (c *Client) noteModulesLocked(o *Op) {
	sched, pe, ok := o.modules()
	if !ok {
		return
	}
	if c.loaded == nil {
		c.loaded = make(map[module]bool)
	}
	c.loaded[sched] = true
	if pe.name != "" {
		c.loaded[pe] = true
	}
}

// applyOn carries out one op on l.
func (c *Client) applyOn(l link, o Op) error {
	r, err := o.prepare(&attrEncoder{})
	if err != nil {
		return err
	}
	_, err = c.doOn(l, r)
	return err
}
