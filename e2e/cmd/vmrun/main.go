// Command vmrun boots the e2e guest (see e2e/README.md) with one kernel and
// runs a shell script in it, copying the console to standard output.
//
//	go run ./e2e/cmd/vmrun -kernel 6.1 -script e2e/demo.sh -files DIR
//
// The exit status is the script's. Run make e2e-fetch first.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/goipvsadm/goipvsadm/e2e"
)

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var (
		kernel  = flag.String("kernel", "6.1", "kernel to boot: 6.1 or 6.12")
		cache   = flag.String("cache", e2e.DefaultCache(), "cache prepared by e2e/fetch.sh")
		script  = flag.String("script", "", "shell script to run in the guest (required)")
		timeout = flag.Duration("timeout", 10*time.Minute, "give up after this long")
		idle    = flag.Duration("idle", 3*time.Minute, "give up after this long without console output")
		memory  = flag.Int("m", 1024, "guest memory in MiB")
		cpus    = flag.Int("smp", 1, "guest virtual CPUs")
		files   listFlag
		env     listFlag
	)
	flag.Var(&files, "files", "host directory copied over the guest's root (repeatable)")
	flag.Var(&env, "env", "KEY=value exported to the script (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vmrun -script FILE [-kernel 6.1] [-files DIR]... [-env K=V]...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *script == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	k, err := e2e.LoadKernel(*cache, *kernel)
	if err != nil {
		fatal(err)
	}
	g := &e2e.Guest{
		Kernel:   k,
		RootFS:   *cache + "/rootfs",
		Overlays: files,
		Script:   *script,
		Env:      env,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := g.Run(ctx, e2e.RunOptions{
		Timeout:     *timeout,
		IdleTimeout: *idle,
		MemoryMiB:   *memory,
		CPUs:        *cpus,
		Console:     func(line string) { fmt.Println(line) },
	})
	if err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "vmrun: kernel %s booted in %.1fs, finished in %.1fs\n",
		k.Release, res.BootTime.Seconds(), res.Elapsed.Seconds())
	if err := res.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		if res.Done && res.ExitCode > 0 {
			os.Exit(res.ExitCode)
		}
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "vmrun:", err)
	os.Exit(1)
}
