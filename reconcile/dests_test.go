package reconcile

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// TestDestListModel: random adds, updates and removals on lists short and
// long (past destIndexAt, where lookups go through the index) keep the
// order and the entries a plain slice keeps.
func TestDestListModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := func(i int) destKey {
		return keyOf(ipvs.DestinationKey{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Port: 80})
	}
	for _, keys := range []int{3, destIndexAt, destIndexAt + 1, 60} {
		var l destList
		var model []destItem
		for n := range 3000 {
			dk := key(r.IntN(keys))
			i := l.find(dk)
			j := slices.IndexFunc(model, func(it destItem) bool { return it.key == dk })
			if i != j {
				t.Fatalf("%d keys, op %d: find(%v) = %d, want %d", keys, n, dk, i, j)
			}
			e := destEntry{cfg: destConfig{weight: uint32(n)}, line: int32(n)}
			switch {
			case i < 0:
				l.add(dk, e)
				model = append(model, destItem{dk, e})
			case r.IntN(2) == 0:
				l.items[i].destEntry = e
				model[j].destEntry = e
			default:
				l.removeAt(i)
				model = slices.Delete(model, j, j+1)
			}
			if !slices.Equal(l.items, model) {
				t.Fatalf("%d keys, op %d: items %v, want %v", keys, n, l.items, model)
			}
			if c := l.clone(); !slices.Equal(c.items, model) || c.find(dk) != l.find(dk) {
				t.Fatalf("%d keys, op %d: the clone differs", keys, n)
			}
		}
		if indexed := l.index != nil; indexed != (keys > destIndexAt) && len(l.items) > destIndexAt {
			t.Errorf("%d keys: indexed %v with %d destinations", keys, indexed, len(l.items))
		}
	}
}
