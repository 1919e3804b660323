//go:build e2e

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// servicesRules is n services with one real server each, at 10.<b>.x.y.
func servicesRules(b, n int) string {
	var s strings.Builder
	for i := 0; i < n; i++ {
		vip := fmt.Sprintf("10.%d.%d.%d", b, i/250, i%250+1)
		fmt.Fprintf(&s, "-A -t %s:80 -s rr\n-a -t %s:80 -r 192.168.0.%d:80 -m\n", vip, vip, i%250+1)
	}
	return s.String()
}

// TestConcurrentSyncRunsDoNotInterleave: two -R --sync runs of different
// files (and two -R --sync --atomic, and two -R --atomic after -C)
// started together end with exactly one of the files in the kernel: the
// second run planned against the first one's result.
func TestConcurrentSyncRunsDoNotInterleave(t *testing.T) {
	ref, ours := e2eBinaries(t)
	defer resetKernel(t, ref)
	files := [2]string{servicesRules(60, 5000), servicesRules(70, 5000)}
	var states [2]string
	for i, f := range files {
		resetKernel(t, ref)
		if r := runTool(t, ours, []string{"-R"}, f); r.exit != 0 {
			t.Fatalf("setup: %+v", r)
		}
		states[i] = tableState(t, ref)
	}
	for _, mode := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"-R", "--sync"}, ""},
		{[]string{"-R", "--sync", "--atomic"}, ""},
		{[]string{"-R", "--atomic"}, "-C\n"},
	} {
		resetKernel(t, ref)
		_, wait0 := startTool(t, ours, mode.args, mode.prefix+files[0])
		_, wait1 := startTool(t, ours, mode.args, mode.prefix+files[1])
		r0, s0 := wait0()
		r1, s1 := wait1()
		if r0.exit != 0 || r1.exit != 0 || s0 != 0 || s1 != 0 {
			t.Errorf("%q: %+v %v / %+v %v", mode.args, r0, s0, r1, s1)
		}
		got := tableState(t, ref)
		t.Logf("%q twice at once: %d lines", mode.args, strings.Count(got, "\n"))
		if got != states[0] && got != states[1] {
			t.Errorf("%q: two runs together left %d lines, neither file (%d and %d lines)", mode.args,
				strings.Count(got, "\n"), strings.Count(states[0], "\n"), strings.Count(states[1], "\n"))
		}
	}
}

// TestRestoreLockBlocksOnlySyncAndAtomic: while another process holds the
// restore lock, plain -R and single commands go through, and -R --sync
// says it waits, changes nothing, and goes on once the lock is free.
func TestRestoreLockBlocksOnlySyncAndAtomic(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	f, err := os.OpenFile(restoreLockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"-R"}, "-A -t 10.0.0.1:80 -s rr\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"}, ""},
		{[]string{"-Sn"}, ""},
		{[]string{"-R", "--sync", "--dry-run"}, ""},
	} {
		if r := runTool(t, ours, step.args, step.stdin); r.exit != 0 {
			t.Fatalf("%q while the lock is held: %+v", step.args, r)
		}
	}
	before := tableState(t, ref)
	cmd := &exec.Cmd{Path: ours, Args: []string{"ipvsadm", "-R", "--sync"}, Stdin: strings.NewReader("-A -t 10.0.0.5:80 -s wrr\n")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	if !strings.Contains(line, "waiting for another -R --sync or --atomic run") {
		t.Errorf("-R --sync while the lock is held says %q", line)
	}
	if got := tableState(t, ref); got != before {
		t.Errorf("-R --sync changed the table while waiting for the lock:\n%s", got)
	}
	f.Close() // releases the lock
	if err := cmd.Wait(); err != nil {
		t.Fatalf("-R --sync after the lock was released: %v", err)
	}
	if got := runTool(t, ref, []string{"-Sn"}, ""); got.stdout != "-A -t 10.0.0.5:80 -s wrr\n" {
		t.Errorf("after -R --sync: %q", got.stdout)
	}
}
