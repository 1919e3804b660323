// Command daemonloop starts and stops an IPVS sync daemon again and again,
// through goipvsadm's library or through ipvsadm, and counts the stops
// that are never answered: the guest reproducer of e2e/README.md's "Sync
// daemons" (run by e2e/daemon-stop.sh in a guest booted with vmrun).
//
// For a stop that is not answered in time it prints what the kernel was
// doing: the stack and system call of every thread of the stuck process,
// the sync threads still there, and the kernel log's sync thread lines
// since the start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

func main() {
	var (
		n       = flag.Int("n", 200, "start/stop rounds")
		tool    = flag.String("tool", "lib", "lib (goipvsadm's library) or ipvsadm")
		gap     = flag.Duration("gap", 0, "wait between a start and its stop")
		timeout = flag.Duration("timeout", 5*time.Second, "a stop not answered by then is stuck")
	)
	flag.Parse()
	var r runner
	switch *tool {
	case "lib":
		c, err := ipvs.New(nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r = libRunner{c}
	case "ipvsadm":
		r = ipvsadmRunner{}
	default:
		fmt.Fprintln(os.Stderr, "-tool: lib or ipvsadm")
		os.Exit(2)
	}
	stuck, gone := 0, 0
	for i := 0; i < *n; i++ {
		state := []string{"master", "backup"}[i%2]
		mark := kmsgLines()
		if err := r.start(state); err != nil {
			fmt.Printf("round %d: start %s: %v\n", i, state, err)
			os.Exit(1)
		}
		time.Sleep(*gap)
		err := r.stop(state, *timeout)
		if err == nil {
			continue
		}
		stuck++
		running := daemonRunning(state)
		if !running {
			gone++
		}
		fmt.Printf("DAEMONLOOP round %d: stop %s: %v (daemon still running: %v)\n", i, state, err, running)
		fmt.Print(syncThreadLog(mark))
		if running {
			os.Exit(1)
		}
	}
	fmt.Printf("DAEMONLOOP tool=%s gap=%v: %d rounds, %d stops not answered within %v, %d of them with the daemon stopped\n",
		*tool, *gap, *n, stuck, *timeout, gone)
}

type runner interface {
	start(state string) error
	stop(state string, timeout time.Duration) error
}

type libRunner struct{ c *ipvs.Client }

func daemonOf(state string) ipvs.Daemon {
	d := ipvs.Daemon{State: ipvs.Master, Interface: "eth0"}
	if state == "backup" {
		d.State = ipvs.Backup
	}
	return d
}

func (r libRunner) start(state string) error {
	return r.c.StartDaemon(context.Background(), daemonOf(state))
}

func (r libRunner) stop(state string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.c.StopDaemon(ctx, daemonOf(state)) }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout - timeout/10):
		// Still waiting: look at the threads before the deadline ends it.
		fmt.Print(threads(os.Getpid()))
		return <-done
	}
}

type ipvsadmRunner struct{}

func (ipvsadmRunner) start(state string) error {
	out, err := exec.Command("ipvsadm", "--start-daemon", state, "--mcast-interface", "eth0").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func (ipvsadmRunner) stop(state string, timeout time.Duration) error {
	cmd := exec.Command("ipvsadm", "--stop-daemon", state)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		fmt.Print(threads(cmd.Process.Pid))
		cmd.Process.Kill()
		<-done
		return errors.New("ipvsadm --stop-daemon did not finish")
	}
}

// threads is the kernel stack, system call and wait channel of every
// thread of process pid.
func threads(pid int) string {
	var b strings.Builder
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, t := range tasks {
		stack, _ := os.ReadFile(t + "/stack")
		sys, _ := os.ReadFile(t + "/syscall")
		wchan, _ := os.ReadFile(t + "/wchan")
		fmt.Fprintf(&b, "--- %s: syscall %s wchan %s\n%s", t, strings.TrimSpace(string(sys)), wchan, stack)
	}
	return b.String()
}

// daemonRunning asks ipvsadm whether a daemon of state is listed.
func daemonRunning(state string) bool {
	out, _ := exec.Command("ipvsadm", "-L", "--daemon").Output()
	return strings.Contains(string(out), state+" sync daemon")
}

// kmsgLines is how many lines the kernel log has.
func kmsgLines() int {
	out, _ := exec.Command("dmesg").Output()
	return strings.Count(string(out), "\n")
}

// syncThreadLog is the kernel log's sync thread lines after line mark,
// with the stacks of the ipvs threads still there.
func syncThreadLog(mark int) string {
	out, _ := exec.Command("dmesg").Output()
	lines := strings.Split(string(out), "\n")
	var b strings.Builder
	for _, l := range lines[min(mark, len(lines)):] {
		if strings.Contains(l, "sync thread") || strings.Contains(l, "IPVS") {
			b.WriteString("kernel: " + l + "\n")
		}
	}
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, c := range comms {
		name, _ := os.ReadFile(c)
		if strings.HasPrefix(string(name), "ipvs-") {
			stack, _ := os.ReadFile(filepath.Dir(c) + "/stack")
			fmt.Fprintf(&b, "--- %s %s%s", filepath.Dir(c), name, stack)
		}
	}
	return b.String()
}
