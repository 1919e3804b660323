// Command rusage runs a command and prints, on standard error, its peak
// RSS (ru_maxrss), user and system CPU time, wall time, minor page faults
// and voluntary/involuntary context switches. See bench/restore-mem.sh.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rusage COMMAND [ARG]...")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(2)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Fprintf(os.Stderr, "RUSAGE %q maxrss %.1f MiB user %.2f s sys %.2f s wall %.2f s err %v minflt %d csw %d/%d\n", os.Args[1:],
		float64(ru.Maxrss)/1024, time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), wall.Seconds(), err,
		ru.Minflt, ru.Nvcsw, ru.Nivcsw)
}
