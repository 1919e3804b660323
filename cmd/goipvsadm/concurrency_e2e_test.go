//go:build e2e

package main

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/restore"
)

// writerTable is what one writer has left in the kernel: service -> its
// real servers, both as -Sn prints them.
type writerTable map[string][]string

// TestConcurrentWritersOnKernel: one Client shared by 8 goroutines and 8
// goipvsadm processes write disjoint services and real servers while
// others list and save, for GOIPVSADM_E2E_STRESS_SECONDS (30): every
// listing parses, no call fails, and the final table is exactly the sum
// of the writes.
func TestConcurrentWritersOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	c := kernelClient(t)
	deadline := time.Now().Add(time.Duration(envInt(t, "GOIPVSADM_E2E_STRESS_SECONDS", 30)) * time.Second)
	ctx := context.Background()

	var wg sync.WaitGroup
	tables := make([]writerTable, 16)
	for w := range tables {
		tables[w] = writerTable{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			write := func(args ...string) bool {
				if w < 8 {
					return libraryWrite(t, ctx, c, args)
				}
				r := runTool(t, ours, args, "")
				if r.exit != 0 {
					t.Errorf("writer %d: %q: %+v", w, args, r)
				}
				return r.exit == 0
			}
			for i := 0; time.Now().Before(deadline); i++ {
				svc := fmt.Sprintf("10.%d.%d.%d:80", 100+w, i/250%250, i%250+1)
				rs := fmt.Sprintf("192.168.%d.%d:8080", w, i%250+1)
				if !write("-A", "-t", svc, "-s", "rr") || !write("-a", "-t", svc, "-r", rs, "-m", "-w", "2") {
					return
				}
				tables[w]["-A -t "+svc+" -s rr"] = []string{"-a -t " + svc + " -r " + rs + " -m -w 2"}
				if i%3 == 2 { // and delete one of the earlier ones
					old := fmt.Sprintf("10.%d.%d.%d:80", 100+w, (i-1)/250%250, (i-1)%250+1)
					if !write("-D", "-t", old) {
						return
					}
					delete(tables[w], "-A -t "+old+" -s rr")
				}
			}
		}()
	}
	var listings atomic.Int64
	var lwg sync.WaitGroup
	for l := 0; l < 4; l++ {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			for time.Now().Before(deadline) {
				listings.Add(1)
				switch l {
				case 0:
					if _, err := c.Snapshot(ctx); err != nil {
						t.Errorf("Snapshot: %v", err)
					}
				case 1:
					checkSaveParses(t, runTool(t, ours, []string{"-Sn"}, ""))
				case 2:
					checkListing(t, runTool(t, ours, []string{"-Ln"}, ""))
				case 3:
					checkSaveParses(t, runTool(t, ref, []string{"-Sn"}, ""))
				}
			}
		}()
	}
	wg.Wait()
	lwg.Wait()
	var want []string
	for _, tbl := range tables {
		for svc, dests := range tbl {
			want = append(want, svc)
			want = append(want, dests...)
		}
	}
	final := runTool(t, ref, []string{"-Sn"}, "")
	got := strings.Split(strings.TrimSuffix(final.stdout, "\n"), "\n")
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the final table (%d lines) is not the sum of the writes (%d lines)", len(got), len(want))
	}
	t.Logf("%d lines written and kept, %d listings", len(want), listings.Load())
}

// libraryWrite carries out one of the writers' command lines through c.
func libraryWrite(t *testing.T, ctx context.Context, c *ipvs.Client, args []string) bool {
	svcKey := func(s string) ipvs.ServiceKey {
		ap := netip.MustParseAddrPort(s)
		return ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: ap.Addr(), Port: ap.Port()}
	}
	var err error
	switch args[0] {
	case "-A":
		k := svcKey(args[2])
		err = c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: k.Addr, Port: k.Port, Scheduler: "rr"})
	case "-a":
		rs := netip.MustParseAddrPort(args[4])
		err = c.CreateDestination(ctx, svcKey(args[2]), ipvs.Destination{Addr: rs.Addr(), Port: rs.Port(), ForwardMethod: ipvs.Masquerade, Weight: 2})
	case "-D":
		err = c.DeleteService(ctx, svcKey(args[2]))
	}
	if err != nil {
		t.Errorf("%q through the shared Client: %v", args, err)
	}
	return err == nil
}

// checkSaveParses: a save taken while others write is a valid rules file.
func checkSaveParses(t *testing.T, r result) {
	if r.exit != 0 || r.stderr != "" {
		t.Errorf("-Sn while others write: %+v", r)
		return
	}
	if _, err := restore.Parse(strings.NewReader(r.stdout), restore.Options{Resolver: cmdline.StaticResolver{}}); err != nil {
		t.Errorf("-Sn while others write does not parse: %v", err)
	}
}

// checkListing: a listing taken while others write has its three header
// lines and only service and real-server lines after them.
func checkListing(t *testing.T, r result) {
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.exit != 0 || r.stderr != "" || len(lines) < 3 || !strings.HasPrefix(lines[0], "IP Virtual Server version") {
		t.Errorf("-Ln while others write: %+v", r)
		return
	}
	for _, l := range lines[3:] {
		if !strings.HasPrefix(l, "TCP  10.") && !strings.HasPrefix(l, "  -> 192.168.") {
			t.Errorf("-Ln while others write: line %q", l)
			return
		}
	}
}
