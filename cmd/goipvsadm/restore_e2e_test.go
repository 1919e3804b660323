//go:build e2e

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bigRules is a restore of n services with 5 real servers each.
func bigRules(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		vip := fmt.Sprintf("10.%d.%d.%d", 20+i/65536, i/256%256, i%256)
		fmt.Fprintf(&b, "-A -t %s:80 -s wrr\n", vip)
		for j := 1; j <= 5; j++ {
			fmt.Fprintf(&b, "-a -t %s:80 -r 192.168.%d.%d:8080 -m -w %d\n", vip, j, i%250+1, j)
		}
	}
	return b.String()
}

func tableState(t *testing.T, ref string) string {
	t.Helper()
	save := runTool(t, ref, []string{"-Sn"}, "")
	to := runTool(t, ref, []string{"-L", "--timeout"}, "")
	if save.exit != 0 || to.exit != 0 {
		t.Fatalf("reading the table: %+v %+v", save, to)
	}
	return save.stdout + to.stdout
}

// TestAtomicRestoreOnKernel: a line the kernel rejects near the end of a
// large file leaves the table and timeouts exactly as they were.
func TestAtomicRestoreOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	for _, args := range [][]string{
		{"-A", "-t", "10.0.0.1:80", "-s", "rr"},
		{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:80", "-m", "-w", "3"},
		{"-A", "-f", "5", "-s", "sh", "-p", "30"},
		{"--set", "1000", "100", "200"},
	} {
		if r := runTool(t, ref, args, ""); r.exit != 0 {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	before := tableState(t, ref)
	rules := "-E -t 10.0.0.1:80 -s wlc -p 60\n-d -t 10.0.0.1:80 -r 10.0.0.2:80\n--set 0 50 0\n-D -f 5\n" +
		bigRules(2000) + "-C\n-A -t 10.9.9.9:80 -s rr\n" +
		"-a -t 10.9.9.9:80 -r 224.0.0.1:80 -m\n" + // the kernel refuses a multicast real server
		"-A -t 10.9.9.10:80 -s rr\n"
	r := runTool(t, ours, []string{"-R", "--atomic"}, rules)
	lines := strings.Count(rules, "\n")
	if r.exit != 255 || !strings.Contains(r.stderr, fmt.Sprintf("line %d: -a -t 10.9.9.9:80 -r 224.0.0.1:80 -m", lines-1)) ||
		!strings.Contains(r.stderr, "the table is as it was") {
		t.Fatalf("atomic restore: %+v", r)
	}
	if after := tableState(t, ref); after != before {
		t.Errorf("table changed by a failed atomic restore:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Without the bad line the whole file goes in.
	good := strings.Replace(rules, "-a -t 10.9.9.9:80 -r 224.0.0.1:80 -m\n", "", 1)
	if r := runTool(t, ours, []string{"-R", "--atomic"}, good); r.exit != 0 {
		t.Fatalf("good atomic restore: %+v", r)
	}
	if s := tableState(t, ref); !strings.Contains(s, "-A -t 10.9.9.10:80 -s rr") || strings.Contains(s, "10.20.") {
		t.Errorf("after the good atomic restore:\n%s", s)
	}
}

// TestRestoreInPartsOnKernel: -R of a file that it parses in parts
// (GOMAXPROCS=4, more than 512 KiB) prints what, exits as, and leaves the
// table that it does parsing in one part: with lines the kernel refuses
// (a second copy of the services) and a skipped line in between; and
// with a syntax error on the last line, it applies nothing.
func TestRestoreInPartsOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	empty := tableState(t, ref)
	rules := "--set 900 90 300\n" + bigRules(1500) + "-A -t 10.9.9.9:80 --foo\n" + bigRules(1500)
	if len(rules) < 2*256<<10 {
		t.Fatalf("%d bytes of rules: one part", len(rules))
	}
	path := filepath.Join(t.TempDir(), "rules")
	restoreWith := func(procs, text string) (result, string) {
		t.Helper()
		resetKernel(t, ref)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := &exec.Cmd{Path: ours, Args: []string{"ipvsadm", "-R"}, Stdin: f, Env: append(os.Environ(), "GOMAXPROCS="+procs)}
		return runCmd(t, cmd), tableState(t, ref)
	}
	bad := rules + "-A -t 10.9.9.10:80 -p 0\n"
	for _, text := range []string{rules, bad} {
		one, oneTable := restoreWith("1", text)
		parts, partsTable := restoreWith("4", text)
		if parts != one || partsTable != oneTable {
			t.Fatalf("in parts: exit %d, stdout %d bytes, stderr %.300q, table %d bytes; in one part: exit %d, stdout %d bytes, stderr %.300q, table %d bytes",
				parts.exit, len(parts.stdout), parts.stderr, len(partsTable), one.exit, len(one.stdout), one.stderr, len(oneTable))
		}
		if text == rules && (one.exit != 255 || len(oneTable) < len(rules)/4) {
			t.Fatalf("restore: exit %d, %d bytes of table", one.exit, len(oneTable))
		}
		if text == bad && (one.exit != 2 || oneTable != empty) {
			t.Fatalf("a syntax error on the last line: exit %d, table changed: %v", one.exit, oneTable != empty)
		}
	}
}

// TestSyncOnKernel: a sync changes only what differs, in place (a service
// that carried traffic keeps its counters), and a second sync of the same
// rules changes nothing. The guest is emulated (TCG), so the table has
// 2,000 services; the 10,000-service case runs on the in-memory kernel
// (restore.TestSyncNoChangeIsCheap).
func TestSyncOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	rules := bigRules(2000) +
		"-A -u 10.0.0.1:5353 -s rr\n-a -u 10.0.0.1:5353 -r 10.1.0.1:5353 -m -w 1\n"
	if r := runTool(t, ours, []string{"-R"}, rules); r.exit != 0 {
		t.Fatalf("initial restore: %+v", r)
	}
	// Traffic through one service: its counters must survive the sync.
	c, err := net.Dial("udp", "10.0.0.1:5353")
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("x"))
	c.Close()
	time.Sleep(2500 * time.Millisecond) // the kernel folds counters in every 2 s
	statsBefore := runTool(t, ref, []string{"-Ln", "--stats", "-u", "10.0.0.1:5353"}, "")

	// Unchanged: no plan, and how much CPU it took (reported, not asserted:
	// the guest is emulated).
	r, cpu := runMeasured(t, ours, []string{"-R", "--sync", "--dry-run"}, rules)
	if r.exit != 0 || r.stdout != "" {
		t.Fatalf("dry run of an unchanged table: %+v", r)
	}
	t.Logf("sync --dry-run of 2,000 x 5 unchanged: %v CPU (emulated guest)", cpu)

	changed := strings.Replace(rules, "-a -u 10.0.0.1:5353 -r 10.1.0.1:5353 -m -w 1\n", "-a -u 10.0.0.1:5353 -r 10.1.0.1:5353 -m -w 7\n", 1)
	// Drop one service with its real servers, add a real server to another.
	var kept []string
	for _, l := range strings.SplitAfter(changed, "\n") {
		if !strings.Contains(l, " 10.20.0.1:80 ") {
			kept = append(kept, l)
		}
	}
	changed = strings.Join(kept, "") + "-a -t 10.20.0.99:80 -r 192.168.9.9:8080 -m -w 1\n"
	plan := runTool(t, ours, []string{"-R", "--sync", "--dry-run"}, changed)
	if plan.exit != 0 {
		t.Fatalf("dry run: %+v", plan)
	}
	want := "-e -u 10.0.0.1:5353 -r 10.1.0.1:5353 -m -w 7\n"
	if !strings.Contains(plan.stdout, want) || !strings.Contains(plan.stdout, "-D -t 10.20.0.1:80\n") ||
		strings.Count(plan.stdout, "\n") > 20 {
		t.Fatalf("plan:\n%s", plan.stdout)
	}
	if r := runTool(t, ours, []string{"-R", "--sync"}, changed); r.exit != 0 {
		t.Fatalf("sync: %+v", r)
	}
	statsAfter := runTool(t, ref, []string{"-Ln", "--stats", "-u", "10.0.0.1:5353"}, "")
	if statsAfter.stdout != statsBefore.stdout || serviceConns(statsBefore.stdout) == "0" {
		t.Errorf("the synced service lost its counters (re-created?):\nbefore:\n%s\nafter:\n%s", statsBefore.stdout, statsAfter.stdout)
	}
	if w := runTool(t, ref, []string{"-Ln", "-u", "10.0.0.1:5353"}, ""); !strings.Contains(w.stdout, "Masq    7") {
		t.Errorf("weight not updated:\n%s", w.stdout)
	}
	if again := runTool(t, ours, []string{"-R", "--sync", "--dry-run"}, changed); again.exit != 0 || again.stdout != "" {
		t.Errorf("second sync plans changes: %+v", again)
	}
	// The synced table is what a plain restore of the rules gives.
	synced := tableState(t, ref)
	resetKernel(t, ref)
	if r := runTool(t, ref, []string{"-R"}, changed); r.exit != 0 {
		t.Fatalf("reference restore: %+v", r)
	}
	if plain := tableState(t, ref); plain != synced {
		t.Error("the synced table differs from a plain restore of the same rules")
	}
}

// runMeasured runs a command and returns its user+system CPU time.
func runMeasured(t *testing.T, bin string, args []string, stdin string) (result, time.Duration) {
	t.Helper()
	cmd := &exec.Cmd{Path: bin, Args: append([]string{"ipvsadm"}, args...), Stdin: strings.NewReader(stdin)}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return result{stdout: out.String(), stderr: errb.String(), exit: code}, cpu
}

// serviceConns is the Conns column of the service line of -Ln --stats.
func serviceConns(listing string) string {
	for _, line := range strings.Split(listing, "\n") {
		if f := strings.Fields(line); len(f) > 2 && (f[0] == "TCP" || f[0] == "UDP") {
			return f[2]
		}
	}
	return "0"
}
