package ipvs

import (
	"context"
	"syscall"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
)

// attrs returns the attributes fn writes.
func attrs(fn func(e *attrEncoder)) []byte {
	var e attrEncoder
	fn(&e)
	return e.b
}

func ack(cmd uint8, a []byte) request {
	return request{cmd: cmd, flags: netlink.Request | netlink.Acknowledge, attrs: a}
}

// Services lists every virtual service, in the kernel's order. An empty
// table is an empty slice. SkipStats leaves their Stats zero.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Services(ctx context.Context, opts ...ReadOption) ([]Service, error) {
	var svcs []Service
	err := c.session(ctx, func(l link) (err error) {
		svcs, err = c.dumpServices(l, readOptions(opts))
		return err
	})
	return svcs, opError("list services", "", err, nil)
}

// dumpServices runs the service dump on l. The services are gathered in
// chunks that double in size, then copied once into a slice of the exact
// length: a slice grown by appending holds its old and new arrays at once
// and leaves the garbage of every earlier growth, several times the table
// at the peak (a Service is 168 bytes, 100,000 of them 17 MB).
func (c *Client) dumpServices(l link, o ReadOption) ([]Service, error) {
	var (
		chunks [][]Service
		n      int
	)
	cur := make([]Service, 0, firstServiceChunk)
	err := c.eachService(l, o, func(s *Service) error {
		if len(cur) == cap(cur) {
			chunks = append(chunks, cur)
			cur = make([]Service, 0, min(2*cap(cur), lastServiceChunk))
		}
		cur = append(cur, *s)
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(chunks) == 0 {
		return cur, nil
	}
	svcs := make([]Service, 0, n)
	for _, ch := range chunks {
		svcs = append(svcs, ch...)
	}
	return append(svcs, cur...), nil
}

// eachService runs the service dump on l and calls fn with each service
// as it is decoded with o (valid only during the call).
func (c *Client) eachService(l link, o ReadOption, fn func(s *Service) error) error {
	return c.dumpOn(l, request{cmd: uapi.CmdGetService}, func(m []byte) error {
		b, err := nested(m, uapi.CmdAttrService)
		if err != nil {
			return err
		}
		s, err := decodeService(b, o)
		if err != nil {
			return err
		}
		return fn(&s)
	})
}

// The service dump's chunks: the first holds a typical table, the last
// bounds what a chunk leaves unused.
const (
	firstServiceChunk = 64
	lastServiceChunk  = 8192
)

// Service returns one service.
//
// Errors: ErrServiceNotFound, ErrInvalid (a malformed key), ErrPermission,
// ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Service(ctx context.Context, k ServiceKey) (Service, error) {
	k = canonicalKey(k)
	var s Service
	err := c.session(ctx, func(l link) (err error) {
		s, err = c.getService(l, k)
		return err
	})
	return s, opError("get service", k.String(), err, serviceErrors)
}

// getService reads one service on l.
func (c *Client) getService(l link, k ServiceKey) (Service, error) {
	if err := validateKey(k); err != nil {
		return Service{}, err
	}
	msgs, err := c.doOn(l, request{cmd: uapi.CmdGetService, flags: netlink.Request, attrs: appendServiceKeyAttr(nil, k)})
	if err != nil {
		return Service{}, err
	}
	if len(msgs) == 0 {
		return Service{}, errDesync
	}
	b, err := nested(msgs[0], uapi.CmdAttrService)
	if err != nil {
		return Service{}, err
	}
	return decodeService(b, 0)
}

// CreateService adds a service. The zero values of the configuration are
// ipvsadm's defaults: scheduler DefaultScheduler (wlc), no persistence, a
// netmask of one address.
//
// Errors: ErrServiceExists, ErrSchedulerNotFound, ErrInvalid,
// ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) CreateService(ctx context.Context, s Service) error {
	return c.apply1(ctx, CreateService(s))
}

// UpdateService replaces the whole configuration of an existing service
// with s's: fields left zero take their defaults, as with ipvsadm -E. To
// change some settings and keep the rest, use ModifyService.
//
// Errors: ErrServiceNotFound, ErrSchedulerNotFound, ErrInvalid,
// ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) UpdateService(ctx context.Context, s Service) error {
	return c.apply1(ctx, UpdateService(s))
}

// ModifyService reads the service k, lets edit change it, and writes it
// back: the settings edit leaves alone keep their values. edit must not
// change the key (that is ErrInvalid) and must not use the Client.
//
// No other call of this Client runs between the read and the write. The
// kernel has no compare-and-swap, so a change another process makes in
// that window (one round trip) is overwritten.
//
// Errors: those of Service and of UpdateService.
func (c *Client) ModifyService(ctx context.Context, k ServiceKey, edit func(s *Service)) error {
	k = canonicalKey(k)
	var op Op
	err := c.session(ctx, func(l link) error {
		s, err := c.getService(l, k)
		if err != nil {
			return err
		}
		edit(&s)
		if s.Key() != k {
			return invalidf(0, "the edit changed the service's key to %v", s.Key())
		}
		op = UpdateService(s)
		return c.applyOn(l, op)
	})
	if op.Kind == 0 {
		return opError("update service", k.String(), err, serviceErrors)
	}
	return op.errorFor(err)
}

// DeleteService removes a service and its destinations.
//
// Errors: ErrServiceNotFound, ErrInvalid (a malformed key), ErrPermission,
// ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) DeleteService(ctx context.Context, k ServiceKey) error {
	return c.apply1(ctx, DeleteService(k))
}

// Destinations lists a service's destinations, newest first (the kernel's
// order). A service without destinations, and one that does not exist,
// give an empty slice: the kernel does not tell them apart here.
// SkipStats leaves their Stats zero.
//
// Errors: ErrInvalid (a malformed key), ErrPermission, ErrUnavailable,
// ErrClosed, or the context's error.
func (c *Client) Destinations(ctx context.Context, k ServiceKey, opts ...ReadOption) ([]Destination, error) {
	k = canonicalKey(k)
	if err := validateKey(k); err != nil {
		return nil, opError("list destinations", k.String(), err, nil)
	}
	var dests []Destination
	err := c.sessionLinks(ctx, true, func(_, dl link) (err error) {
		dests, err = c.dumpDestinations(dl, k, readOptions(opts))
		return err
	})
	return dests, opError("list destinations", k.String(), err, serviceErrors)
}

// WalkDestinations calls fn for each service of svcs, in order, with its
// destinations in the kernel's order: the destination dumps of a whole
// listing in one session, decoded into one reused slice, so that listing
// a large table neither allocates per service nor holds every destination
// at once. dests is valid only during the call, and fn must not use the
// Client. The walk stops at the first error: fn's, returned as it is, or
// the failed dump's. fn is called on the caller's goroutine; with more
// than one CPU the dumps run a few services ahead on another, so that
// the kernel's work overlaps the decoding and fn's. SkipStats leaves the
// destinations' Stats zero.
//
// Errors: fn's, or those of Destinations.
func (c *Client) WalkDestinations(ctx context.Context, svcs []Service, fn func(i int, dests []Destination) error, opts ...ReadOption) error {
	var (
		fnErr error
		k     ServiceKey
	)
	err := c.sessionLinks(ctx, true, func(_, dl link) (err error) {
		keyOf := func(i int) (ServiceKey, error) {
			k := canonicalKey(svcs[i].Key())
			return k, validateKey(k)
		}
		k, err = c.walkDestinations(dl, len(svcs), keyOf, readOptions(opts), func(i int, dests []Destination) error {
			fnErr = fn(i, dests)
			return fnErr
		})
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return opError("list destinations", k.String(), err, serviceErrors)
}

// dumpDestinations runs the destination dump of k on l, decoding with o.
func (c *Client) dumpDestinations(l link, k ServiceKey, o ReadOption) ([]Destination, error) {
	dests, err := c.dumpDestinationsReused(l, k, o)
	if err != nil {
		return nil, err
	}
	return append(make([]Destination, 0, len(dests)), dests...), nil
}

// dumpDestinationsReused runs the destination dump of k on l, decoding
// into c's reused slice (valid until the next dump): appending to a new
// slice grew it four times for a service of ten destinations.
func (c *Client) dumpDestinationsReused(l link, k ServiceKey, o ReadOption) ([]Destination, error) {
	dests := c.destBuf[:0]
	c.keyBuf = appendServiceKeyAttr(c.keyBuf[:0], k)
	err := c.dumpOn(l, request{cmd: uapi.CmdGetDest, attrs: c.keyBuf}, func(m []byte) (err error) {
		dests, err = appendDestinationOf(dests, m, k.Family, o)
		return err
	})
	c.keepDestBuf(dests)
	if err != nil {
		return nil, err
	}
	return dests, nil
}

// keepDestBuf keeps dests's array for the next dump, unless it is
// outsized.
func (c *Client) keepDestBuf(dests []Destination) {
	if cap(dests) <= 4096 {
		c.destBuf = dests[:0]
	}
}

// CreateDestination adds a destination to a service. The zero values of
// the configuration are ipvsadm's defaults: direct routing, no thresholds;
// the zero Weight takes no new connections.
//
// Errors: ErrServiceNotFound, ErrDestinationExists, ErrInvalid,
// ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) CreateDestination(ctx context.Context, k ServiceKey, d Destination) error {
	return c.apply1(ctx, CreateDestination(k, d))
}

// UpdateDestination replaces the whole configuration of a destination with
// d's: fields left zero take their defaults (direct routing, no
// thresholds), as with ipvsadm -e. To change some settings, such as the
// weight for a drain, and keep the rest, use ModifyDestination.
//
// Errors: ErrServiceNotFound, ErrDestinationNotFound, ErrInvalid,
// ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) UpdateDestination(ctx context.Context, k ServiceKey, d Destination) error {
	return c.apply1(ctx, UpdateDestination(k, d))
}

// ModifyDestination reads the destination dk of service k, lets edit
// change it, and writes it back: the settings edit leaves alone keep their
// values. A drain and its end:
//
//	c.ModifyDestination(ctx, k, dk, func(d *ipvs.Destination) { d.Weight = 0 })
//	c.ModifyDestination(ctx, k, dk, func(d *ipvs.Destination) { d.Weight = 100 })
//
// edit must not change the key (that is ErrInvalid) and must not use the
// Client. No other call of this Client runs between the read and the
// write. The kernel has no compare-and-swap, so a change another process
// makes in that window (one round trip) is overwritten.
//
// Errors: ErrServiceNotFound, ErrDestinationNotFound, ErrInvalid,
// ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) ModifyDestination(ctx context.Context, k ServiceKey, dk DestinationKey, edit func(d *Destination)) error {
	k = canonicalKey(k)
	op := UpdateDestination(k, Destination{Addr: dk.Addr, Port: dk.Port})
	if err := validateService(&op.Service, op.Service.Key(), false); err != nil {
		return op.errorFor(err)
	}
	if err := validateDestination(k, &op.Destination, false); err != nil {
		return op.errorFor(err)
	}
	err := c.sessionLinks(ctx, true, func(l, dl link) error {
		d, err := c.findDestination(l, dl, k, dk)
		if err != nil {
			return err
		}
		edit(&d)
		if d.Key() != dk {
			return invalidf(0, "the edit changed the destination's key to %v", d.Key())
		}
		op.Destination = d
		return c.applyOn(l, op)
	})
	return op.errorFor(err)
}

// findDestination reads destination dk of service k, and when there is
// none, says whether the service is missing too.
func (c *Client) findDestination(l, dl link, k ServiceKey, dk DestinationKey) (Destination, error) {
	dests, err := c.dumpDestinations(dl, k, 0)
	if err != nil {
		return Destination{}, err
	}
	for _, d := range dests {
		if d.Key() == dk {
			return d, nil
		}
	}
	if _, err := c.getService(l, k); err != nil {
		return Destination{}, err
	}
	return Destination{}, kernelError(c.seq, syscall.ENOENT) // as SET_DEST would answer
}

// DeleteDestination removes a destination from a service.
//
// Errors: ErrServiceNotFound, ErrDestinationNotFound, ErrInvalid (a
// malformed key), ErrPermission, ErrUnavailable, ErrClosed, or the
// context's error.
func (c *Client) DeleteDestination(ctx context.Context, k ServiceKey, dk DestinationKey) error {
	return c.apply1(ctx, DeleteDestination(k, dk))
}

// Snapshot returns every service with its destinations: one service dump,
// then one destination dump per service, all in one session (the kernel
// has no dump of both, and runs one dump at a time per socket), so no
// other call of this Client changes the table in between. SkipStats
// leaves every Stats zero.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Snapshot(ctx context.Context, opts ...ReadOption) ([]ServiceEntry, error) {
	var entries []ServiceEntry
	o := readOptions(opts)
	err := c.sessionLinks(ctx, true, func(l, dl link) error {
		svcs, err := c.dumpServices(l, o)
		if err != nil {
			return err
		}
		entries = make([]ServiceEntry, len(svcs))
		keyOf := func(i int) (ServiceKey, error) { return svcs[i].Key(), nil }
		_, err = c.walkDestinations(dl, len(svcs), keyOf, o, func(i int, dests []Destination) error {
			entries[i] = ServiceEntry{Service: svcs[i], Destinations: append(make([]Destination, 0, len(dests)), dests...)}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, opError("snapshot", "", err, nil)
	}
	return entries, nil
}

// Walk calls fn with each service and its destinations, in the kernel's
// order, as Snapshot lists them, without holding the table: the service
// dump is read a page (4,096 services) at a time, and the destination
// dumps of a page's services run on a second socket before the next page
// is read. Memory stays that of a page however many services there are. svc and dests are
// valid only during the call, and fn must not use the Client. The walk
// stops at fn's first error, returned as it is.
//
// The kernel resumes a service dump at a position, not at a service: a
// service created or deleted during the walk, in a place already read,
// makes a service after it listed twice or missed, as in any dump of more
// than one read, but more likely here, where the reads are further apart.
// Where the second socket cannot be opened, the services are all read
// first, as Snapshot does. SkipStats leaves every Stats zero.
//
// Errors: fn's, ErrServiceNotFound (a service deleted during the walk),
// ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Walk(ctx context.Context, fn func(svc *Service, dests []Destination) error, opts ...ReadOption) error {
	var (
		fnErr  error
		failed string // the service whose destination dump failed
		o      = readOptions(opts)
	)
	err := c.sessionLinks(ctx, true, func(l, dl link) error {
		page := make([]Service, 0, walkPage)
		walk := func() error {
			keyOf := func(i int) (ServiceKey, error) { return page[i].Key(), nil }
			k, err := c.walkDestinations(dl, len(page), keyOf, o, func(i int, dests []Destination) error {
				fnErr = fn(&page[i], dests)
				return fnErr
			})
			if err != nil && fnErr == nil {
				failed = k.String()
			}
			page = page[:0]
			return err
		}
		if dl == l {
			svcs, err := c.dumpServices(l, o)
			page = svcs
			if err != nil {
				return err
			}
			return walk()
		}
		err := c.eachService(l, o, func(s *Service) error {
			if page = append(page, *s); len(page) < walkPage {
				return nil
			}
			if err := walk(); err != nil {
				// The rest of the service dump is not read: the
				// session drops the socket.
				return abortDump{err}
			}
			return nil
		})
		if err == nil && len(page) > 0 {
			err = walk()
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	if ab, ok := err.(abortDump); ok {
		err = ab.err
	}
	return opError("walk", failed, err, serviceErrors)
}

// walkPage is how many services Walk reads before their destinations
// (700 KiB of Services). The kernel resumes a service dump by walking its
// hash table from the start up to where the last read stopped; the
// destination dumps between two pages push that walk out of the CPU's
// caches, so pages much smaller than this cost the kernel measurably more
// at 100,000 services.
var walkPage = 4096

// Flush removes every service.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Flush(ctx context.Context) error {
	_, err := c.do(ctx, ack(uapi.CmdFlush, nil))
	return opError("flush", "", err, nil)
}

// ZeroAll zeroes the counters of every service and destination.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) ZeroAll(ctx context.Context) error {
	_, err := c.do(ctx, ack(uapi.CmdZero, nil))
	return opError("zero", "", err, nil)
}

// Zero zeroes the counters of one service and its destinations.
//
// Errors: ErrServiceNotFound, ErrInvalid (a malformed key), ErrPermission,
// ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Zero(ctx context.Context, k ServiceKey) error {
	k = canonicalKey(k)
	if err := validateKey(k); err != nil {
		return opError("zero", k.String(), err, nil)
	}
	_, err := c.do(ctx, ack(uapi.CmdZero, appendServiceKeyAttr(nil, k)))
	return opError("zero", k.String(), err, serviceErrors)
}

// canonicalKey fills in the family and clears what a fwmark key does not
// use, so user-made keys behave like keys read from the kernel.
func canonicalKey(k ServiceKey) ServiceKey {
	if k.Family == 0 && k.FWMark == 0 && k.Addr.Is4In6() {
		// Left for validateService to refuse: the caller did not say IPv6.
		return k
	}
	return serviceOf(k).Key()
}

func serviceOf(k ServiceKey) Service {
	return Service{Family: k.Family, Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FWMark: k.FWMark}
}
