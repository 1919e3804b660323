//go:build e2e

package servicetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// guest returns the reference ipvsadm and goipvsadm, skipping outside the
// e2e guest: the tests change the kernel's IPVS table. The table is empty
// and no sync daemon runs when the test starts and when it ends.
func guest(t *testing.T) (ipvsadm, goipvsadm string) {
	t.Helper()
	if os.Getenv("GOIPVSADM_E2E") != "1" {
		t.Skip("not in the e2e guest (GOIPVSADM_E2E != 1)")
	}
	ipvsadm, goipvsadm = os.Getenv("IPVSADM"), os.Getenv("GOIPVSADM")
	if ipvsadm == "" {
		ipvsadm = "/usr/sbin/ipvsadm"
	}
	if goipvsadm == "" {
		goipvsadm = "/usr/local/sbin/goipvsadm"
	}
	if _, err := os.Stat(goipvsadm); err != nil {
		t.Skipf("no goipvsadm in the guest: %v", err)
	}
	reset := func() {
		exec.Command(ipvsadm, "-C").Run()
		exec.Command(ipvsadm, "--stop-daemon", "master").Run()
		exec.Command(ipvsadm, "--stop-daemon", "backup").Run()
	}
	reset()
	t.Cleanup(reset)
	return ipvsadm, goipvsadm
}

// needAtomic skips the test when goipvsadm does not have -R --atomic and
// --sync yet. The probe changes nothing: a dry run of an empty input.
func needAtomic(t *testing.T, goipvsadm string) {
	t.Helper()
	cmd := exec.Command(goipvsadm, "-R", "--atomic", "--sync", "--dry-run")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("goipvsadm lacks -R --atomic --sync (the boot helper's restore): %v: %s", err, out)
	}
}

// sh runs a shell command line, failing the test unless it exits 0.
func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// saveN is the reference ipvsadm's numeric save: the table as the kernel
// has it.
func saveN(t *testing.T, ipvsadm string) string {
	t.Helper()
	out, err := exec.Command(ipvsadm, "-S", "-n").Output()
	if err != nil {
		t.Fatalf("ipvsadm -Sn: %v", err)
	}
	return string(out)
}

// guestEnv is a bootEnv whose helper runs the real goipvsadm on the guest
// kernel (modules through the guest's modprobe).
func guestEnv(t *testing.T, goipvsadm string) *bootEnv {
	b := newBootEnv(t)
	b.setenv("GOIPVSADM="+goipvsadm, "MODPROBE=modprobe")
	return b
}

// rules: the header Debian's init script writes, comment lines, IPv4 and
// IPv6, TCP, UDP and fwmark, every forwarding method.
const guestRules = `# ipvsadm.rules
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 2
# the DNS servers
-A -u 10.0.0.1:53 -s wlc
-a -u 10.0.0.1:53 -r 10.1.0.5:53 -g -w 1
-A -f 7 -s sh -p 300
-a -f 7 -r 10.1.0.9:0 -i -w 1
-A -t [2001:db8::1]:443 -s wrr
-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 3
`

// referenceTable loads rules (without their comments) with the reference
// ipvsadm and returns its save, leaving the table empty.
func referenceTable(t *testing.T, ipvsadm, rules string) string {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "rules")
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, "grep -v '^#' "+f+" | "+ipvsadm+" -R")
	want := saveN(t, ipvsadm)
	sh(t, ipvsadm+" -C")
	if want == "" {
		t.Fatal("the reference ipvsadm restored nothing")
	}
	return want
}

func TestGuestStartRestoresRules(t *testing.T) {
	ipvsadm, goipvsadm := guest(t)
	needAtomic(t, goipvsadm)
	want := referenceTable(t, ipvsadm, guestRules)

	b := guestEnv(t, goipvsadm)
	b.write("etc/ipvsadm.rules", guestRules)
	if code, stderr, _ := b.run("start"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, stderr)
	}
	if got := saveN(t, ipvsadm); got != want {
		t.Errorf("table after start:\n%s\nwant:\n%s", got, want)
	}

	// Starting again changes nothing (--sync), and so does a reload.
	for _, verb := range []string{"start", "reload"} {
		if code, stderr, _ := b.run(verb); code != 0 {
			t.Fatalf("%s: exit %d: %s", verb, code, stderr)
		}
		if got := saveN(t, ipvsadm); got != want {
			t.Errorf("table after a second %s:\n%s\nwant:\n%s", verb, got, want)
		}
	}

	// Edit the file: plan shows the change and makes none; reload makes it,
	// and removes what was added by hand.
	edited := strings.Replace(guestRules, "-r 10.0.0.3:80 -m -w 2", "-r 10.0.0.3:80 -m -w 5", 1)
	b.write("etc/ipvsadm.rules", edited)
	sh(t, ipvsadm+" -A -t 10.0.0.1:8080 -s rr")
	before := saveN(t, ipvsadm)
	code, _, _ := b.run("plan")
	if code != 0 {
		t.Fatalf("plan: exit %d", code)
	}
	if got := saveN(t, ipvsadm); got != before {
		t.Errorf("plan changed the table:\n%s\nwas:\n%s", got, before)
	}
	if code, stderr, _ := b.run("reload"); code != 0 {
		t.Fatalf("reload: exit %d: %s", code, stderr)
	}
	if got, want := saveN(t, ipvsadm), referenceTable2(t, ipvsadm, edited); got != want {
		t.Errorf("table after reload:\n%s\nwant:\n%s", got, want)
	}
}

// referenceTable2 is referenceTable that restores the table it found.
func referenceTable2(t *testing.T, ipvsadm, rules string) string {
	t.Helper()
	dir := t.TempDir()
	cur := filepath.Join(dir, "current")
	if err := os.WriteFile(cur, []byte(saveN(t, ipvsadm)), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, ipvsadm+" -C")
	want := referenceTable(t, ipvsadm, rules)
	sh(t, ipvsadm+" -R <"+cur)
	return want
}

func TestGuestFailingLineLeavesTableAsItWas(t *testing.T) {
	ipvsadm, goipvsadm := guest(t)
	needAtomic(t, goipvsadm)
	// A table that the rules change: a weight, a new service, a server
	// removed. Then line 6 names a scheduler the kernel does not have,
	// which only the kernel can refuse.
	sh(t, ipvsadm+" -A -t 10.0.0.1:80 -s rr")
	sh(t, ipvsadm+" -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1")
	sh(t, ipvsadm+" -a -t 10.0.0.1:80 -r 10.0.0.4:80 -m -w 1")
	sh(t, ipvsadm+" -A -u 10.0.0.1:53 -s wlc")
	before := saveN(t, ipvsadm)
	// Both files fail on line 6. sync: the table as it should be;
	// atomic: the changes to make.
	rules := map[string]string{
		"sync": `# ipvsadm.rules
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 9
-A -t 10.0.0.1:81 -s wrr
-a -t 10.0.0.1:81 -r 10.0.0.3:81 -m -w 1
-A -t 10.0.0.1:82 -s nosuchscheduler
-A -u 10.0.0.1:53 -s wlc
`,
		"atomic": `# changes
-e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 9
-d -t 10.0.0.1:80 -r 10.0.0.4:80
-A -t 10.0.0.1:81 -s wrr
-a -t 10.0.0.1:81 -r 10.0.0.3:81 -m -w 1
-A -t 10.0.0.1:82 -s nosuchscheduler
-E -u 10.0.0.1:53 -s rr
`,
	}
	for _, mode := range []string{"sync", "atomic"} {
		b := guestEnv(t, goipvsadm)
		b.write("etc/ipvsadm.rules", rules[mode])
		b.write("etc/default/goipvsadm", "RESTORE="+mode+"\n")
		code, stderr, _ := b.run("start-rules")
		if code == 0 {
			t.Errorf("RESTORE=%s: start-rules succeeded with a failing line", mode)
		}
		if !strings.Contains(stderr, "line 6") {
			t.Errorf("RESTORE=%s: the error does not name line 6:\n%s", mode, stderr)
		}
		if got := saveN(t, ipvsadm); got != before {
			t.Errorf("RESTORE=%s: table after the failed start:\n%s\nwant it as it was:\n%s", mode, got, before)
		}
	}
}

func TestGuestRulesSetting(t *testing.T) {
	ipvsadm, goipvsadm := guest(t)
	needAtomic(t, goipvsadm)
	custom := "-A -t 10.0.0.1:8443 -s lc\n-a -t 10.0.0.1:8443 -r 10.0.0.7:443 -m -w 4\n"
	want := referenceTable(t, ipvsadm, custom)

	b := guestEnv(t, goipvsadm)
	b.write("etc/ipvsadm.rules", guestRules) // not this one
	b.write("etc/lb/custom.rules", custom)
	b.write("etc/default/goipvsadm", "# our settings\nRULES=$GOIPVSADM_SYSCONFDIR/lb/custom.rules\n")
	if code, stderr, _ := b.run("start"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, stderr)
	}
	if got := saveN(t, ipvsadm); got != want {
		t.Errorf("table after start with RULES set:\n%s\nwant:\n%s", got, want)
	}
}

func TestGuestStopSavesNumerically(t *testing.T) {
	ipvsadm, goipvsadm := guest(t)
	// Entered with names (the guest's /etc/hosts has vip1.example and
	// rs1.example), which a save without -n would write back; with a
	// threshold and a mark of 2^31 or more, which only a lossless save
	// keeps.
	sh(t, ipvsadm+" -A -t vip1.example:http -s rr")
	sh(t, ipvsadm+" -a -t vip1.example:http -r rs1.example:http -m -w 2 -x 100 -y 10")
	sh(t, ipvsadm+" -A -u 10.0.0.1:domain -s wlc")
	sh(t, ipvsadm+" -A -f 3000000000 -s rr")
	if named := sh(t, ipvsadm+" -S"); !strings.Contains(named, "vip1.example") {
		t.Fatalf("ipvsadm -S has no names, the test proves nothing:\n%s", named)
	}
	want := saveN(t, ipvsadm)

	for _, tc := range []struct{ name, settings, file string }{
		{"ours", "etc/default/goipvsadm", "etc/ipvsadm.rules"},
		{"rhel", "etc/sysconfig/ipvsadm-config", "etc/sysconfig/ipvsadm"},
	} {
		b := guestEnv(t, goipvsadm)
		if tc.name == "ours" {
			b.write(tc.settings, "SAVE_ON_STOP=yes\n")
		} else {
			b.write(tc.settings, "IPVS_SAVE_ON_STOP=\"yes\"\n")
		}
		if code, stderr, _ := b.run("stop"); code != 0 {
			t.Fatalf("%s: stop: exit %d: %s", tc.name, code, stderr)
		}
		saved := b.read(tc.file)
		if strings.Contains(saved, "example") || !strings.Contains(saved, "-x 100 -y 10") ||
			!strings.Contains(saved, "-f 3000000000 ") || !strings.HasPrefix(saved, "--set ") {
			t.Errorf("%s: %s after stop is not a lossless numeric save:\n%s", tc.name, tc.file, saved)
		}
		// The table stays (FLUSH_ON_STOP=no).
		if got := saveN(t, ipvsadm); got != want {
			t.Errorf("%s: stop changed the table:\n%s", tc.name, got)
		}
		// The reference ipvsadm reads the saved file back.
		thresholds := sh(t, ipvsadm+" -Ln --thresholds")
		sh(t, ipvsadm+" -C && "+ipvsadm+" -R <"+filepath.Join(b.dir, tc.file))
		if got := saveN(t, ipvsadm); got != want {
			t.Errorf("%s: ipvsadm -R of %s gives\n%s\nwant\n%s", tc.name, tc.file, got, want)
		}
		if got := sh(t, ipvsadm+" -Ln --thresholds"); got != thresholds {
			t.Errorf("%s: thresholds after ipvsadm -R of %s:\n%s\nwant\n%s", tc.name, tc.file, got, thresholds)
		}
	}
}

func TestGuestDebianSyncDaemon(t *testing.T) {
	ipvsadm, goipvsadm := guest(t)
	b := guestEnv(t, goipvsadm)
	b.write("etc/default/ipvsadm", `# ipvsadm

# if you want to start ipvsadm on boot set this to true
AUTO="true"

# daemon method (none|master|backup)
DAEMON="master"

# use interface (eth0,eth1...)
IFACE="eth1"

SYNCID="7"
`)
	if code, stderr, _ := b.run("start"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, stderr)
	}
	got := sh(t, ipvsadm+" -L --daemon")
	if !regexp.MustCompile(`^master sync daemon \(mcast=eth1, syncid=7[,)]`).MatchString(got) {
		t.Errorf("ipvsadm -L --daemon after start = %q, want a master on eth1 with syncid 7", got)
	}
	// A second start leaves the running daemon alone and succeeds.
	if code, stderr, _ := b.run("start-daemons"); code != 0 {
		t.Errorf("second start-daemons: exit %d: %s", code, stderr)
	}
	if code, stderr, _ := b.run("stop"); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, stderr)
	}
	if got := sh(t, ipvsadm+" -L --daemon"); got != "" {
		t.Errorf("ipvsadm -L --daemon after stop = %q, want nothing", got)
	}
}
