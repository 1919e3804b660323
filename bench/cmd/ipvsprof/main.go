// Command ipvsprof profiles the ipvs library against the real kernel in the
// e2e guest, where the costs that matter (system calls, the kernel's dump
// batching, the Go runtime on one CPU) are real; profiles against ipvstest
// on the host miss them. make bench BENCH_PROFILE=1 runs it and copies the
// profiles back (see ../../README.md).
//
//	ipvsprof -op save -cpuprofile save.pprof    # Snapshot + save.Write of the loaded table
//	ipvsprof -op apply -table 1000x10 -cpuprofile apply.pprof
//
// It also holds the kernel's floors that make bench compares goipvsadm
// with: -op rawlist for -Sn and -Ln, -op record and -op replay for -R (see
// floor.go).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime/pprof"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/save"
)

func main() {
	var (
		op      = flag.String("op", "save", "snapshot, save (snapshot + save.Write), services, apply, calls (apply's table, one call per object), rawlist (the snapshot's requests with plain system calls: the listing floor), record and replay (the restore floor: -requests), or kernelcost (the kernel's cost per request in several shapes)")
		reqs    = flag.String("requests", "", "for -op record and replay: the file of pre-encoded requests")
		window  = flag.Int("window", 1024, "for -op replay: requests per sendmsg, the last one acknowledged")
		table   = flag.String("table", "1000x10", "for -op apply: SERVICESxDESTS to create (after a flush)")
		repeat  = flag.Int("n", 1, "repetitions")
		cpuprof = flag.String("cpuprofile", "", "write a CPU profile here")
		memprof = flag.String("memprofile", "", "write an allocation profile here")
		sorted  = flag.Bool("sorted", false, "for -op rawlist: dump the destinations in the services' sorted order, not the kernel's")
	)
	flag.Parse()
	switch *op {
	case "record", "replay":
		// The floors: nothing else in the process.
		if err := floor(*op, *reqs, *window); err != nil {
			fatal(err)
		}
		return
	}
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		fatal(err)
	}
	defer c.Close()
	var ops []ipvs.Op
	if *op == "apply" || *op == "calls" {
		var n, m int
		if _, err := fmt.Sscanf(*table, "%dx%d", &n, &m); err != nil {
			fatal(err)
		}
		for i := range n {
			v := i + 1
			s := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP,
				Addr: netip.AddrFrom4([4]byte{10, 100 + byte(v>>16), byte(v >> 8), byte(v)}), Port: 80, Scheduler: "wlc"}
			ops = append(ops, ipvs.CreateService(s))
			for j := range m {
				p := i*m + j + 1
				ops = append(ops, ipvs.CreateDestination(s.Key(), ipvs.Destination{
					Addr: netip.AddrFrom4([4]byte{172, 16 + byte(p>>16), byte(p >> 8), byte(p)}), Port: 8080,
					ForwardMethod: ipvs.Masquerade, Weight: 1}))
			}
		}
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	out := bufio.NewWriterSize(devNull(), 64<<10)
	for range *repeat {
		start := time.Now()
		n := 0
		switch *op {
		case "snapshot", "save":
			entries, err := c.Snapshot(ctx)
			if err != nil {
				fatal(err)
			}
			n = len(entries)
			if *op == "save" {
				if err := save.Write(out, entries, save.Options{Numeric: true}); err != nil {
					fatal(err)
				}
			}
		case "rawlist":
			svcs, dests, err := rawList(*sorted)
			if err != nil {
				fatal(err)
			}
			n = svcs + dests
		case "kernelcost":
			if err := kernelCost(); err != nil {
				fatal(err)
			}
		case "services":
			svcs, err := c.Services(ctx)
			if err != nil {
				fatal(err)
			}
			n = len(svcs)
		case "calls":
			// One call per object, as a per-object API (moby's) must.
			if err := c.Flush(ctx); err != nil {
				fatal(err)
			}
			start = time.Now()
			for _, o := range ops {
				var err error
				if o.Kind == ipvs.OpCreateService {
					err = c.CreateService(ctx, o.Service)
				} else {
					err = c.CreateDestination(ctx, o.Service.Key(), o.Destination)
				}
				if err != nil {
					fatal(err)
				}
			}
			n = len(ops)
		case "apply":
			if err := c.Flush(ctx); err != nil {
				fatal(err)
			}
			start = time.Now()
			results, err := c.Apply(ctx, ops)
			if err != nil {
				fatal(err)
			}
			for _, err := range results {
				if err != nil {
					fatal(err)
				}
			}
			n = len(ops)
		default:
			fatal(fmt.Errorf("unknown -op %q", *op))
		}
		fmt.Printf("ipvsprof: %s: %d objects in %.3fs\n", *op, n, time.Since(start).Seconds())
	}
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err != nil {
			fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fatal(err)
		}
		f.Close()
	}
}

// floor runs -op record or replay.
func floor(op, reqs string, window int) error {
	if reqs == "" {
		return fmt.Errorf("-op %s needs -requests", op)
	}
	if window < 1 {
		return fmt.Errorf("-window %d: want at least 1", window)
	}
	start := time.Now()
	var n int
	var err error
	if op == "record" {
		n, err = record(reqs)
	} else {
		n, err = replay(reqs, window)
	}
	if err != nil {
		return err
	}
	fmt.Printf("ipvsprof: %s: %d requests in %.3fs\n", op, n, time.Since(start).Seconds())
	return nil
}

func devNull() *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fatal(err)
	}
	return f
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ipvsprof:", err)
	os.Exit(1)
}
