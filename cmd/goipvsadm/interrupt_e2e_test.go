//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// envInt is a test setting from the environment (make e2e passes the
// guest's variables through /e2e/env), or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// startTool starts bin with args and stdin; wait returns its result and
// the signal that ended it, if one did.
func startTool(t *testing.T, bin string, args []string, stdin string) (cmd *exec.Cmd, wait func() (result, syscall.Signal)) {
	t.Helper()
	cmd = &exec.Cmd{Path: bin, Args: append([]string{"ipvsadm"}, args...), Stdin: strings.NewReader(stdin)}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, func() (result, syscall.Signal) {
		// A run that never ends fails the test rather than the guest.
		hung := time.AfterFunc(hangLimit, func() { cmd.Process.Kill() })
		defer hung.Stop()
		cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		r := result{stdout: out.String(), stderr: errb.String(), exit: cmd.ProcessState.ExitCode()}
		if ws.Signaled() {
			return r, ws.Signal()
		}
		return r, 0
	}
}

// hangLimit is how long startTool's runs may take before they count as
// hung and are killed; every run here takes seconds.
const hangLimit = 3 * time.Minute

// fastState is the table and timeouts as goipvsadm reads them (ipvsadm's
// -Sn of 10,000 lines takes seconds in the guest, and the listings are
// compared with ipvsadm's elsewhere).
func fastState(t *testing.T, ours string) string {
	t.Helper()
	save := runTool(t, ours, []string{"-Sn"}, "")
	to := runTool(t, ours, []string{"-L", "--timeout"}, "")
	if save.exit != 0 || to.exit != 0 {
		t.Fatalf("reading the table: %+v %+v", save, to)
	}
	return save.stdout + to.stdout
}

// interruptRules returns a table and a 10,000-line restore that changes
// it: services edited in place, added, and the timeouts.
func interruptRules() (old, next string) {
	old = strings.ReplaceAll(bigRules(300), "-s wrr", "-s rr") + "--set 1000 100 200\n"
	next = bigRules(1667) + "--set 900 120 300\n-A -t 10.9.9.9:80 -s rr\n-A -t 10.9.9.10:80 -s rr\n"
	return old, next
}

// TestInterruptedAtomicRestore: SIGINT, SIGTERM or SIGHUP at a random
// moment of -R --atomic or -R --sync --atomic leaves the old table or the
// new one, never a part of the new one, and the run ends by that signal.
func TestInterruptedAtomicRestore(t *testing.T) {
	ref, ours := e2eBinaries(t)
	defer resetKernel(t, ref)
	old, next := interruptRules()
	if n := strings.Count(next, "\n"); n < 10000 {
		t.Fatalf("the restore has %d lines", n)
	}
	modes := []struct {
		args  []string
		rules string
	}{
		{[]string{"-R", "--atomic"}, "-C\n" + next},
		{[]string{"-R", "--sync", "--atomic"}, next},
	}
	setOld := func() string {
		resetKernel(t, ref)
		if r := runTool(t, ours, []string{"-R"}, old); r.exit != 0 {
			t.Fatalf("setting up: %+v", r)
		}
		return fastState(t, ours)
	}
	oldState := setOld()
	// How long an uninterrupted run takes (the shorter of two): signals
	// land anywhere in it.
	var full [2]time.Duration
	var newState string
	for i, m := range modes {
		for range 2 {
			setOld()
			start := time.Now()
			if r := runTool(t, ours, m.args, m.rules); r.exit != 0 {
				t.Fatalf("%q: %+v", m.args, r)
			}
			if d := time.Since(start); full[i] == 0 || d < full[i] {
				full[i] = d
			}
			newState = fastState(t, ours)
		}
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	trials := envInt(t, "GOIPVSADM_E2E_INTERRUPT_TRIALS", 50)
	t.Logf("%d trials, seed %d, full runs %v", trials, seed, full)
	sigs := []syscall.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP}
	outcomes := map[string]int{}
	for i := 0; i < trials; i++ {
		m, sig := modes[i%2], sigs[i%3]
		setOld()
		delay := time.Duration(rng.Int64N(int64(full[i%2]) * 11 / 10))
		cmd, wait := startTool(t, ours, m.args, m.rules)
		time.Sleep(delay)
		cmd.Process.Signal(sig)
		r, died := wait()
		state := fastState(t, ours)
		t.Logf("trial %d: %q, %v after %v: exit %d, signal %v, %s", i, m.args, sig, delay.Round(time.Millisecond), r.exit, died, strings.TrimSpace(r.stderr))
		switch {
		case state == oldState:
			outcomes["old"]++
		case state == newState:
			outcomes["new"]++
		default:
			t.Fatalf("trial %d: %q, %v after %v: the table is neither the old nor the new one (%d lines); stderr:\n%s",
				i, m.args, sig, delay, strings.Count(state, "\n"), r.stderr)
		}
		if died != sig && !(state == newState && r.exit == 0 && died == 0) {
			t.Errorf("trial %d: %q, %v after %v: ended with status %d, signal %v; stderr:\n%s", i, m.args, sig, delay, r.exit, died, r.stderr)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestKilledPlainRestoreConverges: SIGKILL at a random moment of a plain
// -R leaves a table the kernel lists consistently, and -R --sync of the
// same rules then makes it exactly what they say.
func TestKilledPlainRestoreConverges(t *testing.T) {
	ref, ours := e2eBinaries(t)
	defer resetKernel(t, ref)
	_, next := interruptRules()
	resetKernel(t, ref)
	start := time.Now()
	if r := runTool(t, ours, []string{"-R"}, next); r.exit != 0 {
		t.Fatalf("plain -R: %+v", r)
	}
	full := time.Since(start)
	want := fastState(t, ours)
	rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
	for i := 0; i < envInt(t, "GOIPVSADM_E2E_KILL_TRIALS", 10); i++ {
		resetKernel(t, ref)
		cmd, wait := startTool(t, ours, []string{"-R"}, next)
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		cmd.Process.Signal(unix.SIGKILL)
		wait()
		t.Logf("trial %d: killed", i)
		// Every listing of the table parses as a restore.
		saved := runTool(t, ref, []string{"-Sn"}, "")
		if saved.exit != 0 || saved.stderr != "" {
			t.Fatalf("trial %d: -Sn after SIGKILL: %+v", i, saved)
		}
		if r := runTool(t, ours, []string{"-R", "--sync", "--atomic", "--dry-run"}, saved.stdout); r.exit != 0 || r.stdout != "" {
			t.Fatalf("trial %d: the saved table does not restore onto itself: %+v", i, r)
		}
		if r := runTool(t, ours, []string{"-R", "--sync"}, next); r.exit != 0 {
			t.Fatalf("trial %d: -R --sync after SIGKILL: %+v", i, r)
		}
		if got := fastState(t, ours); got != want {
			t.Fatalf("trial %d: -R --sync after SIGKILL did not converge", i)
		}
	}
}

// TestListIntoClosedPipe: "-Ln | head -1" ends as ipvsadm's does (SIGPIPE,
// nothing on stderr) when the listing is longer than the pipe holds.
func TestListIntoClosedPipe(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	if r := runTool(t, ours, []string{"-R"}, bigRules(3000)); r.exit != 0 {
		t.Fatalf("setup: %+v", r)
	}
	firstLine := func(bin string) string {
		cmd := &exec.Cmd{Path: bin, Args: []string{"ipvsadm", "-Ln"}}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		out.Close()
		cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return fmt.Sprintf("first line %q, exit %d, signaled %v %v, stderr %q", line, ws.ExitStatus(), ws.Signaled(), ws.Signal(), errb.String())
	}
	want, got := firstLine(ref), firstLine(ours)
	if got != want {
		t.Errorf("-Ln into a closed pipe:\nipvsadm:   %s\ngoipvsadm: %s", want, got)
	}
}

// TestWithoutRoot: a user without CAP_NET_ADMIN gets ipvsadm's message and
// status; with only CAP_NET_ADMIN every command works.
func TestWithoutRoot(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	as := func(bin string, caps []uintptr, args ...string) result {
		cmd := &exec.Cmd{Path: bin, Args: append([]string{"ipvsadm"}, args...), Dir: "/"}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
			AmbientCaps: caps,
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return result{stdout: out.String(), stderr: errb.String(), exit: cmd.ProcessState.ExitCode()}
	}
	netAdmin := []uintptr{unix.CAP_NET_ADMIN}
	for _, args := range [][]string{
		{"-Ln"}, {"-A", "-t", "10.0.0.1:80", "-s", "rr"}, {"-Sn"}, {"-L", "--timeout"}, {"-C"},
	} {
		want, got := as(ref, nil, args...), as(ours, nil, args...)
		if want != got || want.exit == 0 {
			t.Errorf("%q without CAP_NET_ADMIN:\nipvsadm:   %+v\ngoipvsadm: %+v", args, want, got)
		}
	}
	script := [][]string{
		{"-A", "-t", "10.0.0.1:80", "-s", "rr"}, {"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"},
		{"-Ln"}, {"-Sn"}, {"--set", "10", "20", "30"}, {"-L", "--timeout"}, {"-Z"}, {"-C"},
	}
	var transcripts [2]string
	for i, bin := range []string{ref, ours} {
		resetKernel(t, ref)
		var b strings.Builder
		for _, args := range script {
			r := as(bin, netAdmin, args...)
			if r.exit != 0 {
				t.Errorf("%s %q with CAP_NET_ADMIN only: %+v", bin, args, r)
			}
			b.WriteString(formatStep(scriptLine{args: args}, r))
		}
		transcripts[i] = b.String()
	}
	if transcripts[0] != transcripts[1] {
		t.Errorf("with CAP_NET_ADMIN only:\nipvsadm:\n%s\ngoipvsadm:\n%s", transcripts[0], transcripts[1])
	}
	// The all-or-nothing restore works too, locking the lock file
	// read-only if it cannot write it.
	if r := as(ours, netAdmin, "-R", "--sync", "--atomic"); r.exit != 0 {
		t.Errorf("-R --sync --atomic with CAP_NET_ADMIN only: %+v", r)
	}
}
