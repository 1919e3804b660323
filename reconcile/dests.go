package reconcile

import (
	"maps"
	"slices"

	"github.com/goipvsadm/goipvsadm/internal/compact"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// destList holds a service's destinations in the order they were created
// (the kernel lists them newest first), each with its configuration and
// line. Lookups scan the list, and use an index once it is longer than
// destIndexAt: most services have a few destinations, for which a map
// would take more room than the destinations themselves, and scanning a
// hundred keys of 20 bytes costs less than building and growing a map.
type destList struct {
	items []destItem
	index map[destKey]int32 // position in items; nil while the list is short
}

type destItem struct {
	key destKey
	destEntry
}

// destKey is an ipvs.DestinationKey in a compact form.
type destKey struct {
	addr compact.Addr
	port uint16
}

func keyOf(dk ipvs.DestinationKey) destKey { return destKey{compact.AddrOf(dk.Addr), dk.Port} }

func (k destKey) key() ipvs.DestinationKey {
	return ipvs.DestinationKey{Addr: k.addr.Addr(), Port: k.port}
}

const destIndexAt = 128

// A destFilter tells of keys that a list being built does not hold, so
// that adding a new one need not scan the list (which would make adding n
// destinations cost n²/2 key comparisons): 512 bits, a key sets one, so
// that with a hundred keys in the list four new keys in five skip the
// scan. Bits are never cleared: a key removed still costs a scan.
type destFilter [8]uint64

// filterBit is where dk's bit is in a destFilter.
type filterBit struct {
	word int
	bit  uint64
}

func filterBitOf(dk destKey) filterBit {
	h := (dk.addr.Low64() ^ uint64(dk.port)<<16) * 0xbf58476d1ce4e5b9
	return filterBit{int(h >> 61), 1 << (h >> 55 & 63)}
}

// add notes the key of b as held.
func (f *destFilter) add(b filterBit) { f[b.word] |= b.bit }

// mayHold reports whether the key of b may be held; false means it is
// not.
func (f *destFilter) mayHold(b filterBit) bool { return f[b.word]&b.bit != 0 }

// all returns the destinations, oldest first; none for a nil list.
func (l *destList) all() []destItem {
	if l == nil {
		return nil
	}
	return l.items
}

// find returns where dk is in the list, -1 if it is not (or l is nil).
func (l *destList) find(dk destKey) int {
	if l == nil {
		return -1
	}
	if l.index != nil {
		if i, ok := l.index[dk]; ok {
			return int(i)
		}
		return -1
	}
	for i := range l.items {
		if l.items[i].key == dk {
			return i
		}
	}
	return -1
}

// add appends dk, which the list does not hold, as the newest destination.
// The list grows by half its length, where append would double it: most
// lists stop growing at a few destinations, and the room left over in a
// table of a million destinations is tens of megabytes.
func (l *destList) add(dk destKey, e destEntry) {
	if n := len(l.items); n == cap(l.items) {
		items := make([]destItem, n, n+n/2+1)
		copy(items, l.items)
		l.items = items
	}
	l.items = append(l.items, destItem{dk, e})
	switch {
	case l.index != nil:
		l.index[dk] = int32(len(l.items) - 1)
	case len(l.items) > destIndexAt:
		l.index = make(map[destKey]int32, len(l.items))
		for i, it := range l.items {
			l.index[it.key] = int32(i)
		}
	}
}

// removeAt deletes the destination at i, keeping the others in order.
func (l *destList) removeAt(i int) {
	dk := l.items[i].key
	l.items = slices.Delete(l.items, i, i+1)
	if l.index != nil {
		delete(l.index, dk)
		for j := i; j < len(l.items); j++ {
			l.index[l.items[j].key] = int32(j)
		}
	}
}

// clone returns a copy of l that shares nothing with it; nil for nil.
func (l *destList) clone() *destList {
	if l == nil {
		return nil
	}
	c := &destList{items: slices.Clone(l.items)}
	if l.index != nil {
		c.index = maps.Clone(l.index)
	}
	return c
}
