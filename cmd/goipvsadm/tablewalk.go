package main

import (
	"cmp"
	"context"
	"errors"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// heldDestinations bounds how many destinations a listing holds so that
// it can dump them in the kernel's order (see walkTable): about 9 MiB.
const heldDestinations = 1 << 16

// walkTable calls fn for each service of svcs, which are in the order of
// the kernel's service dump, with its destinations (read with read): in
// ipvsadm's sort order, or in svcs' order with noSort.
//
// Each destination dump makes the kernel look its service up in a hash
// table of 256 chains. Dumped in the service dump's order, one chain after
// the other, the lookups find the chain they walk still in the CPU's
// caches; in sort order each walks a chain of its own. So the
// destinations are dumped in the kernel's order first and held, up to
// heldDestinations, and the services past that are dumped as their turn
// comes. A failed dump ends the listing at its turn in sort order, after
// every service before it, as ipvsadm's would.
func (a *app) walkTable(ctx context.Context, svcs []ipvs.Service, noSort bool, read ipvs.ReadOption, fn func(*ipvs.Service, []ipvs.Destination)) error {
	if noSort {
		return a.client.WalkDestinations(ctx, svcs, func(i int, dests []ipvs.Destination) error {
			fn(&svcs[i], dests)
			return nil
		}, read)
	}
	order := listing.ServiceOrder(svcs)
	held := destinationStore{limit: cmp.Or(a.holdLimit, heldDestinations)}
	firstErr := a.client.WalkDestinations(ctx, svcs, func(_ int, dests []ipvs.Destination) error {
		return held.add(dests)
	}, read)
	// A failed dump fails the listing at its turn: end is its position
	// in sort order, len(order) if none failed.
	end := len(order)
	if errors.Is(firstErr, errStoreFull) {
		firstErr = nil
	}
	// The services not held that come before end, in sort order, and
	// where each is in it.
	var rest []ipvs.Service
	var restAt []int
	for p, k := range order {
		switch {
		case end < len(order): // past the failed one: never listed
		case held.has(int(k)):
		case firstErr != nil && int(k) == held.len():
			end = p
		default:
			rest = append(rest, svcs[k])
			restAt = append(restAt, p)
		}
	}
	next := 0 // the next position in sort order to print
	printHeldUpTo := func(upTo int) {
		for ; next < upTo; next++ {
			if k := int(order[next]); held.has(k) {
				fn(&svcs[k], held.destinations(k))
			}
		}
	}
	if len(rest) > 0 {
		done := 0
		err := a.client.WalkDestinations(ctx, rest, func(j int, dests []ipvs.Destination) error {
			printHeldUpTo(restAt[j])
			fn(&rest[j], dests)
			next, done = restAt[j]+1, j+1
			return nil
		}, read)
		if err != nil {
			if done < len(restAt) {
				printHeldUpTo(restAt[done])
			}
			return err
		}
	}
	printHeldUpTo(end)
	return firstErr
}

// errStoreFull stops the dumps in the kernel's order.
var errStoreFull = errors.New("destination store full")

// destinationStore holds the destinations of the first services of a
// walk, in chunks that never move.
type destinationStore struct {
	chunks [][]ipvs.Destination
	spans  []destSpan // per service held, in the walk's order
	n      int
	limit  int
}

type destSpan struct{ chunk, start, len int32 }

const storeChunk = 4096

// add holds the destinations of the next service, or returns errStoreFull.
func (s *destinationStore) add(dests []ipvs.Destination) error {
	if s.n+len(dests) > s.limit {
		return errStoreFull
	}
	last := len(s.chunks) - 1
	if last < 0 || len(dests) > cap(s.chunks[last])-len(s.chunks[last]) {
		s.chunks = append(s.chunks, make([]ipvs.Destination, 0, max(storeChunk, len(dests))))
		last++
	}
	c := &s.chunks[last]
	s.spans = append(s.spans, destSpan{int32(last), int32(len(*c)), int32(len(dests))})
	*c = append(*c, dests...)
	s.n += len(dests)
	return nil
}

func (s *destinationStore) has(i int) bool { return i < len(s.spans) }

func (s *destinationStore) len() int { return len(s.spans) }

func (s *destinationStore) destinations(i int) []ipvs.Destination {
	sp := s.spans[i]
	return s.chunks[sp.chunk][sp.start:][:sp.len:sp.len]
}
