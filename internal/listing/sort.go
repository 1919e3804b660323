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

// CompareServices is libipvs' ipvs_cmp_services: firewall mark, family,
// protocol, address, port, each compared as a truncated C difference.
func CompareServices(a, b *ipvs.Service) int {
	ka, kb := a.Key(), b.Key()
	if r := int32(ka.FWMark - kb.FWMark); r != 0 {
		return int(r)
	}
	if r := int(ka.Family) - int(kb.Family); r != 0 {
		return r
	}
	if r := int(ka.Protocol) - int(kb.Protocol); r != 0 {
		return r
	}
	if r := compareAddrs(ka.Family == ipvs.IPv6, ka.Addr, kb.Addr); r != 0 {
		return r
	}
	return int(ka.Port) - int(kb.Port)
}

// CompareDestinations is libipvs' ipvs_cmp_dests: address, then port. The
// first destination's family decides whether all four address words or
// only the first are compared.
func CompareDestinations(a, b *ipvs.Destination) int {
	if r := compareAddrs(a.Addr.Is6(), a.Addr, b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// compareAddrs compares addresses as the kernel's 16-byte address union
// holds them (an IPv4 address in the first word, zeros after it), word by
// word in host order, each difference truncated to a C int.
func compareAddrs(v6 bool, a, b netip.Addr) int {
	wa, wb := addrWords(a), addrWords(b)
	n := 1
	if v6 {
		n = 4
	}
	for i := range n {
		if r := int32(wa[i] - wb[i]); r != 0 {
			return int(r)
		}
	}
	return 0
}

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

// sortOrder returns the order glibc's qsort would put n elements in.
func sortOrder(n int, cmp func(a, b int32) int) []int32 {
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	mergeSort(idx, make([]int32, n), cmp)
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
func SortServices(s []ipvs.Service) {
	order := sortOrder(len(s), func(a, b int32) int { return CompareServices(&s[a], &s[b]) })
	permute(s, order)
}

// SortDestinations sorts destinations as ipvsadm does (see
// CompareDestinations).
func SortDestinations(d []ipvs.Destination) {
	if len(d) <= 1 {
		return
	}
	order := sortOrder(len(d), func(a, b int32) int { return CompareDestinations(&d[a], &d[b]) })
	permute(d, order)
}

// SortEntries sorts the services of a snapshot, and the destinations of
// each, as ipvsadm does before printing them.
func SortEntries(e []ipvs.ServiceEntry) {
	sortEntryServices(e)
	for i := range e {
		SortDestinations(e[i].Destinations)
	}
}

// sortEntryServices sorts entries by their services only.
func sortEntryServices(e []ipvs.ServiceEntry) {
	order := sortOrder(len(e), func(a, b int32) int { return CompareServices(&e[a].Service, &e[b].Service) })
	permute(e, order)
}
