package listing

import (
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// ipvsadm sorts with glibc's qsort and libipvs' comparators. The
// comparators subtract 32-bit unsigned values and keep the result as a C
// int, so values 2^31 or more apart compare backwards and the relation is
// not transitive; the order then depends on the exact algorithm, glibc
// 2.36's top-down merge sort. Both are reproduced here: Go's sort package
// would give other orders for such tables.

// sortKey is what the comparators look at, extracted once per element.
type sortKey struct {
	fwmark uint32
	family uint16
	proto  uint16
	port   uint16
	v6     bool // compare all four address words, not only the first
	words  [4]uint32
}

func serviceSortKey(s *ipvs.Service) sortKey {
	k := s.Key()
	return sortKey{fwmark: k.FWMark, family: uint16(k.Family), proto: uint16(k.Protocol), port: k.Port,
		v6: k.Family == ipvs.IPv6, words: addrWords(k.Addr)}
}

func destinationSortKey(d *ipvs.Destination) sortKey {
	return sortKey{port: d.Port, v6: d.Addr.Is6(), words: addrWords(d.Addr)}
}

// compareKeys is libipvs' ipvs_cmp_services: firewall mark, family,
// protocol, address, port, each compared as a truncated C difference.
// For destinations the first three are zero, which makes it
// ipvs_cmp_dests. The first element's family decides whether all four
// address words or only the first are compared (for services both have
// the same family by then; destinations may differ).
func compareKeys(a, b *sortKey) int {
	if r := int32(a.fwmark - b.fwmark); r != 0 {
		return int(r)
	}
	if r := int(a.family) - int(b.family); r != 0 {
		return r
	}
	if r := int(a.proto) - int(b.proto); r != 0 {
		return r
	}
	n := 1
	if a.v6 {
		n = 4
	}
	for i := range n {
		if r := int32(a.words[i] - b.words[i]); r != 0 {
			return int(r)
		}
	}
	return int(a.port) - int(b.port)
}

// CompareServices compares two services as ipvsadm's sort does.
func CompareServices(a, b *ipvs.Service) int {
	ka, kb := serviceSortKey(a), serviceSortKey(b)
	return compareKeys(&ka, &kb)
}

// CompareDestinations compares two destinations as ipvsadm's sort does.
func CompareDestinations(a, b *ipvs.Destination) int {
	ka, kb := destinationSortKey(a), destinationSortKey(b)
	return compareKeys(&ka, &kb)
}

// addrWords returns an address as the kernel's 16-byte address union
// holds it (an IPv4 address in the first word, zeros after it), as four
// words in host order.
func addrWords(a netip.Addr) [4]uint32 {
	var w [4]uint32
	switch {
	case a.Is4():
		b := a.As4()
		w[0] = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	case a.Is6():
		b := a.As16()
		for i := range w {
			w[i] = uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
		}
	}
	return w
}

// mergeSort sorts the indexes idx with glibc 2.36's msort: split into
// n/2 and n-n/2, sort both halves, merge taking from the left half while
// cmp(left, right) <= 0. tmp must be as long as idx.
func mergeSort(idx, tmp []int32, cmp func(a, b int32) int) {
	n := len(idx)
	if n <= 1 {
		return
	}
	n1 := n / 2
	left, right := idx[:n1], idx[n1:]
	mergeSort(left, tmp[:n1], cmp)
	mergeSort(right, tmp[n1:], cmp)
	out := tmp[:0]
	i, j := 0, 0
	for i < len(left) && j < len(right) {
		if cmp(left[i], right[j]) <= 0 {
			out = append(out, left[i])
			i++
		} else {
			out = append(out, right[j])
			j++
		}
	}
	// Whatever is left of the right half is already in place.
	out = append(out, left[i:]...)
	copy(idx, out)
}

// sorter holds the buffers of a sort, so that a Writer sorting the
// destinations of 10,000 services does not allocate for each.
type sorter struct {
	keys     []sortKey
	idx, tmp []int32
}

// order returns the order glibc's qsort would put the elements in, given
// their keys in s.keys. The result is valid until the next call.
func (s *sorter) order() []int32 {
	n := len(s.keys)
	if cap(s.idx) < n {
		s.idx = make([]int32, n)
		s.tmp = make([]int32, n)
	}
	idx, tmp := s.idx[:n], s.tmp[:n]
	for i := range idx {
		idx[i] = int32(i)
	}
	keys := s.keys
	mergeSort(idx, tmp, func(a, b int32) int { return compareKeys(&keys[a], &keys[b]) })
	return idx
}

// permute rearranges s in place so that s[i] becomes the old s[order[i]].
// order is consumed.
func permute[T any](s []T, order []int32) {
	for i := range s {
		if order[i] < 0 {
			continue
		}
		// Follow the cycle starting at i.
		saved := s[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				s[j] = saved
				break
			}
			s[j] = s[k]
			j = k
		}
	}
}

// SortServices sorts services as ipvsadm does (see CompareServices).
func SortServices(s []ipvs.Service) { permute(s, ServiceOrder(s)) }

// ServiceOrder returns the order in which ipvsadm lists s: s[order[0]]
// first. s is not changed.
func ServiceOrder(s []ipvs.Service) (order []int32) {
	so := sorter{keys: make([]sortKey, 0, len(s))}
	for i := range s {
		so.keys = append(so.keys, serviceSortKey(&s[i]))
	}
	return so.order()
}

// SortDestinations sorts destinations as ipvsadm does (see
// CompareDestinations).
func SortDestinations(d []ipvs.Destination) {
	var so sorter
	so.destinations(d)
}

// A Sorter sorts the destinations of one service after another as
// SortDestinations does, reusing its buffers (a fresh sorter allocates
// seven times for ten destinations). The zero value is ready to use.
type Sorter struct{ so sorter }

// Destinations sorts d in place.
func (s *Sorter) Destinations(d []ipvs.Destination) { s.so.destinations(d) }

func (so *sorter) destinations(d []ipvs.Destination) {
	if len(d) <= 1 {
		return
	}
	so.keys = so.keys[:0]
	for i := range d {
		so.keys = append(so.keys, destinationSortKey(&d[i]))
	}
	permute(d, so.order())
}

// SortEntries sorts the services of a snapshot, and the destinations of
// each, in place, as ipvsadm does before printing them.
func SortEntries(e []ipvs.ServiceEntry) {
	var so sorter
	so.entryServices(e)
	for i := range e {
		so.destinations(e[i].Destinations)
	}
}

// entryServices sorts entries by their services only.
func (so *sorter) entryServices(e []ipvs.ServiceEntry) {
	so.keys = so.keys[:0]
	for i := range e {
		so.keys = append(so.keys, serviceSortKey(&e[i].Service))
	}
	permute(e, so.order())
}
