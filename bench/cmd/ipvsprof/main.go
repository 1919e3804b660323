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
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/save"
	"golang.org/x/sys/unix"
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
		epoll   = flag.Bool("epoll", false, "for -op rawlist, record and replay: register the sockets with an epoll instance, as Go's poller does")
		touch   = flag.Int("touch", 0, "before the operation, allocate and touch this many MiB (to time a floor in a bigger process)")
	)
	flag.Parse()
	if *touch > 0 {
		touched = make([]byte, *touch<<20)
		for i := 0; i < len(touched); i += 4096 {
			touched[i] = 1
		}
	}
	if *epoll {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			fatal(err)
		}
		epollFD = fd
	}
	switch *op {
	case "record", "replay":
		// The floors: nothing else in the process.
		if err := floor(*op, *reqs, *window); err != nil {
			fatal(err)
		}
		return
	}
	c, err := ipvs.New(nil)
	if err != nil {
		fatal(err)
	}
	defer c.Close()
	var ops []ipvs.Op
	if *op == "apply" || *op == "calls" {
		if ops, err = tableOps(*table); err != nil {
			fatal(err)
		}
	}
	if *cpuprof != "" {
		defer startCPUProfile(*cpuprof)()
	}
	out := bufio.NewWriterSize(devNull(), 64<<10)
	for range *repeat {
		start, n, err := runOp(context.Background(), c, *op, ops, out, *sorted)
		if err != nil {
			fatal(err)
		}
		fmt.Printf("ipvsprof: %s: %d objects in %.3fs\n", *op, n, time.Since(start).Seconds())
	}
	if *memprof != "" {
		writeAllocsProfile(*memprof)
	}
}

// touched is the memory -touch allocated, kept alive for the run.
var touched []byte

// tableOps returns the changes that create table, "SERVICESxDESTS".
func tableOps(table string) ([]ipvs.Op, error) {
	var n, m int
	if _, err := fmt.Sscanf(table, "%dx%d", &n, &m); err != nil {
		return nil, err
	}
	return benchrules.Ops(n, m), nil
}

// runOp runs op once and returns when its timing starts (after any flush
// it needs first) and how many objects it handled.
func runOp(ctx context.Context, c *ipvs.Client, op string, ops []ipvs.Op, out io.Writer, sorted bool) (time.Time, int, error) {
	start := time.Now()
	switch op {
	case "snapshot", "save":
		entries, err := c.Snapshot(ctx)
		if err != nil || op == "snapshot" {
			return start, len(entries), err
		}
		return start, len(entries), save.Write(out, entries, save.Options{Numeric: true})
	case "rawlist":
		svcs, dests, err := rawList(sorted)
		return start, svcs + dests, err
	case "kernelcost":
		return start, 0, kernelCost()
	case "services":
		svcs, err := c.Services(ctx)
		return start, len(svcs), err
	case "calls", "apply":
		if err := c.Flush(ctx); err != nil {
			return start, 0, err
		}
		if op == "calls" {
			// One call per object, as a per-object API (moby's) must.
			return time.Now(), len(ops), createEach(ctx, c, ops)
		}
		start = time.Now()
		results, err := c.Apply(ctx, ops)
		return start, len(ops), cmp.Or(err, errors.Join(results...))
	}
	return start, 0, fmt.Errorf("unknown -op %q", op)
}

// createEach carries out ops, which create services and destinations, one
// call each.
func createEach(ctx context.Context, c *ipvs.Client, ops []ipvs.Op) error {
	for _, o := range ops {
		var err error
		if o.Kind == ipvs.OpCreateService {
			err = c.CreateService(ctx, o.Service)
		} else {
			err = c.CreateDestination(ctx, o.Service.Key(), o.Destination)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// startCPUProfile starts writing a CPU profile to path and returns what
// stops it.
func startCPUProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fatal(err)
	}
	return pprof.StopCPUProfile
}

// writeAllocsProfile writes the allocation profile to path.
func writeAllocsProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fatal(err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fatal(err)
	}
	f.Close()
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
