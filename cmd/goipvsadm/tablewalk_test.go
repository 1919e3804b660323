package main

import (
	"context"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"golang.org/x/sys/unix"
)

// TestWalkTableHoldsAnyShare: the listings are the same whatever share of
// the destinations walkTable holds (dumped in the kernel's order) and
// dumps at their turn, also when one service's dump fails: then they are
// the listing of the services sorted before it, and the error.
func TestWalkTableHoldsAnyShare(t *testing.T) {
	forms := [][]string{{"-Ln"}, {"-Sn"}, {"-S"}, {"-L", "-n", "--stats"}, {"-L", "--json"}, {"-L", "-n", "--nosort"}}
	for seed := int64(1); seed <= 150; seed++ {
		tbl := genTable(seed)
		f := newFakeRun(t)
		loadTable(t, f, tbl)
		r := rand.New(rand.NewSource(seed))
		var failing *ipvs.ServiceKey
		if len(tbl.Entries) > 0 && r.Intn(2) == 0 {
			k := tbl.Entries[r.Intn(len(tbl.Entries))].Service.Key()
			failing = &k
			failDestDumps(f.k, k)
		}
		for _, args := range forms {
			want := f.run(args, "")
			for _, limit := range []int{1, 2, 3, 5, 8} {
				got := f.runWith(args, "", func(a *app) { a.holdLimit = limit })
				if got != want {
					t.Fatalf("seed %d, %q, holding %d destinations:\n%+v\nwant\n%+v", seed, args, limit, got, want)
				}
			}
			if failing == nil || slices.Contains(args, "--json") || slices.Contains(args, "--nosort") {
				continue
			}
			// The model: the listing without the failure, cut before
			// the failing service, then the error.
			clean := newFakeRun(t)
			loadTable(t, clean, tbl)
			full := clean.run(args, "").stdout
			header := newFakeRun(t).run(args, "").stdout
			model := firstBlocks(full, header, sortedBefore(f.k.Services(), *failing))
			if want.stdout != model || want.exit != 1 || want.stderr != "No such service\n" {
				t.Fatalf("seed %d, %q, the dump of %v failing:\n%+v\nwant\n%s\nand No such service", seed, args, *failing, want, model)
			}
		}
	}
}

// sortedBefore returns how many services ipvsadm lists before k, given
// the kernel's dump (the sort is not transitive, so its input order
// counts).
func sortedBefore(entries []ipvs.ServiceEntry, k ipvs.ServiceKey) int {
	svcs := make([]ipvs.Service, len(entries))
	for i, e := range entries {
		svcs[i] = e.Service
	}
	for n, i := range listing.ServiceOrder(svcs) {
		if svcs[i].Key() == k {
			return n
		}
	}
	return len(svcs)
}

// firstBlocks returns header and the first n service blocks of a listing
// (-L: a service line and its "  ->" lines; -S: an -A line and its -a
// lines) that begins with header.
func firstBlocks(listing, header string, n int) string {
	lines := strings.SplitAfter(strings.TrimPrefix(listing, header), "\n")
	out := header
	for _, l := range lines {
		starts := !strings.HasPrefix(l, "  ->") && !strings.HasPrefix(l, "-a ")
		if starts && l != "" {
			if n == 0 {
				break
			}
			n--
		}
		out += l
	}
	return out
}

func loadTable(t *testing.T, f *fakeRun, tbl randomTable) {
	t.Helper()
	c, err := ipvs.New(&ipvs.Config{Dial: f.k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := tbl.load(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// failDestDumps makes every destination dump of the service k fail with
// ESRCH, as when it was deleted after the service dump.
func failDestDumps(kern *ipvstest.Kernel, k ipvs.ServiceKey) {
	kern.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if !r.IsIPVS() || r.Command != 8 { // IPVS_CMD_GET_DEST
			return ipvstest.Fault{}
		}
		if got, ok := r.ServiceKey(); ok && got == k {
			return ipvstest.Fail(unix.ESRCH)
		}
		return ipvstest.Fault{}
	})
}
