package reconcile

import (
	"slices"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// stepList holds a plan's steps in a compact form. An ipvs.Op is 344
// bytes: a whole Service for a destination change, and two sets of
// counters. Here a step keeps its destination's key and configuration and
// names its service by index, each service kept once for the steps in a
// row that name it (a restore or a diff names a service for each of its
// destinations in turn), whether they carry the whole service or only its
// key (as ipvs.CreateDestination's op does).
type stepList struct {
	steps    []packedStep
	svcs     []ipvs.Service  // the services steps name
	timeouts []ipvs.Timeouts // of the OpSetTimeouts steps
}

type packedStep struct {
	line int
	dest ipvs.DestinationKey
	cfg  destConfig
	// ref is the index of the step's service in svcs, or of its timeouts
	// in timeouts for OpSetTimeouts.
	ref  int32
	kind ipvs.OpKind
	// keyOnly: the step's service is only the key of svcs[ref].
	keyOnly bool
}

func (l *stepList) len() int { return len(l.steps) }

// grow makes room for n more steps, growing as append does (so that
// steps added one at a time cost amortized O(1)).
func (l *stepList) grow(n int) { l.steps = slices.Grow(l.steps, n) }

// add appends s. Destination counters are not kept: they mean nothing in a
// change.
func (l *stepList) add(s Step) {
	p := packedStep{line: s.Line, kind: s.Op.Kind}
	if s.Op.Kind == ipvs.OpSetTimeouts {
		p.ref = int32(len(l.timeouts))
		l.timeouts = append(l.timeouts, s.Op.Timeouts)
	} else {
		svc := s.Op.Service
		n := len(l.svcs)
		switch {
		case n > 0 && l.svcs[n-1] == svc:
		case n > 0 && svc == keyService(svc.Key()) && l.svcs[n-1].Key() == svc.Key():
			p.keyOnly = true
		default:
			l.svcs = append(l.svcs, svc)
			n++
		}
		p.ref = int32(n - 1)
		p.dest, p.cfg = s.Op.Destination.Key(), configOf(s.Op.Destination)
	}
	l.steps = append(l.steps, p)
}

// op returns the change of step i.
func (l *stepList) op(i int) ipvs.Op {
	p := &l.steps[i]
	if p.kind == ipvs.OpSetTimeouts {
		return ipvs.Op{Kind: p.kind, Timeouts: l.timeouts[p.ref]}
	}
	svc := l.svcs[p.ref]
	if p.keyOnly {
		svc = keyService(svc.Key())
	}
	return ipvs.Op{Kind: p.kind, Service: svc, Destination: p.cfg.destination(p.dest)}
}

// keyService is the Service of an op that names only the service k, as
// ipvs.CreateDestination and ipvs.DeleteService make it.
func keyService(k ipvs.ServiceKey) ipvs.Service { return ipvs.DeleteService(k).Service }

// step returns step i.
func (l *stepList) step(i int) Step { return Step{Op: l.op(i), Line: l.steps[i].line} }
