package reconcile

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// TestTableModel applies random changes of a few services and their
// destinations to a Table and to a plain model of what the kernel does:
// every change is refused or carried out as the model says, and the
// tables list the same, after clones too. Services are deleted and
// created again, so that an entry the Table looked up last (Table.last)
// and entries in its chunks outlive their services.
func TestTableModel(t *testing.T) {
	type modelEntry struct {
		svc   ipvs.Service
		dests []ipvs.Destination // oldest first
	}
	r := rand.New(rand.NewPCG(3, 4))
	svcOf := func(i int) ipvs.Service {
		s := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Port: 80, Scheduler: "rr"}
		if i%3 == 0 {
			s = ipvs.Service{Family: ipvs.IPv4, FWMark: uint32(i + 1), Scheduler: "wlc"}
		}
		return s
	}
	destOf := func(i int, weight uint32) ipvs.Destination {
		return ipvs.Destination{Addr: netip.AddrFrom4([4]byte{192, 168, 0, byte(i)}), Port: 8080, ForwardMethod: ipvs.Masquerade, Weight: weight}
	}
	for round := range 20 {
		tab := NewTable(State{})
		type keptTable struct {
			t     *Table
			state State
		}
		var kept []keptTable
		var model []*modelEntry // creation order
		find := func(k ipvs.ServiceKey) int {
			return slices.IndexFunc(model, func(e *modelEntry) bool { return e.svc.Key() == k })
		}
		for n := range 400 {
			s := svcOf(r.IntN(6))
			k := s.Key()
			d := destOf(r.IntN(5), uint32(n))
			var op ipvs.Op
			switch r.IntN(6) {
			case 0:
				op = ipvs.CreateService(s)
			case 1:
				s.Scheduler = "sh"
				op = ipvs.UpdateService(s)
			case 2:
				op = ipvs.DeleteService(k)
			case 3:
				op = ipvs.UpdateDestination(k, d)
			case 4:
				op = ipvs.DeleteDestination(k, d.Key())
			default:
				op = ipvs.CreateDestination(k, d)
			}
			// What the model says.
			i := find(k)
			var want error
			switch {
			case op.Kind == ipvs.OpCreateService && i >= 0:
				want = ipvs.ErrServiceExists
			case op.Kind == ipvs.OpCreateService:
				model = append(model, &modelEntry{svc: s})
			case i < 0:
				want = ipvs.ErrServiceNotFound
			case op.Kind == ipvs.OpUpdateService:
				model[i].svc = s
			case op.Kind == ipvs.OpDeleteService:
				model = slices.Delete(model, i, i+1)
			default:
				e := model[i]
				j := slices.IndexFunc(e.dests, func(x ipvs.Destination) bool { return x.Key() == d.Key() })
				switch {
				case op.Kind == ipvs.OpCreateDestination && j >= 0:
					want = ipvs.ErrDestinationExists
				case op.Kind == ipvs.OpCreateDestination:
					e.dests = append(e.dests, d)
				case j < 0:
					want = ipvs.ErrDestinationNotFound
				case op.Kind == ipvs.OpUpdateDestination:
					e.dests[j] = d
				default:
					e.dests = slices.Delete(e.dests, j, j+1)
				}
			}
			err := tab.Apply(op)
			if want == nil && err != nil || want != nil && !errors.Is(err, want) {
				t.Fatalf("round %d, change %d (%v): %v, want %v", round, n, op, err, want)
			}
			switch n % 50 {
			case 49:
				tab = tab.clone()
			case 24:
				// A copy keeps what it was while tab changes on.
				c := tab.clone()
				kept = append(kept, keptTable{c, c.State()})
			}
		}
		var wantState []ipvs.ServiceEntry
		for _, e := range model {
			dests := slices.Clone(e.dests)
			slices.Reverse(dests) // listed newest first
			wantState = append(wantState, ipvs.ServiceEntry{Service: e.svc, Destinations: dests})
		}
		got := tab.State().Services
		if !slices.EqualFunc(got, wantState, func(a, b ipvs.ServiceEntry) bool {
			return a.Service == b.Service && slices.Equal(a.Destinations, b.Destinations)
		}) {
			t.Fatalf("round %d: table\n%v\nwant\n%v", round, got, wantState)
		}
		for i, k := range kept {
			if got := k.t.State(); !reflect.DeepEqual(got, k.state) {
				t.Fatalf("round %d: copy %d changed with the table:\n%v\nwas\n%v", round, i, got, k.state)
			}
		}
	}
}
