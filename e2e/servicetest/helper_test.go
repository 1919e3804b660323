package servicetest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helper is the boot helper as the guest sees it: a copy of
// packaging/goipvsadm-boot (see TestHelperCopyIsCurrent).
const helper = "testdata/goipvsadm-boot"

func TestHelperCopyIsCurrent(t *testing.T) {
	src := filepath.Join("..", "..", "packaging", "goipvsadm-boot")
	want, err := os.ReadFile(src)
	if errors.Is(err, os.ErrNotExist) && os.Getenv("GOIPVSADM_E2E") == "1" {
		t.Skip("no repository in the e2e guest")
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(helper)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from %s: cp packaging/goipvsadm-boot e2e/servicetest/testdata/", helper, src)
	}
}

// fakeGoipvsadm stands in for goipvsadm: it appends "ARGS: <args>" to
// $FAKE_LOG, and for -R the input it read; -S -n --lossless prints $FAKE_SAVE and
// exits $FAKE_SAVE_RC; -R exits $FAKE_RESTORE_RC; -L --daemon prints
// $FAKE_DAEMONS.
const fakeGoipvsadm = `#!/bin/sh
echo "ARGS: $*" >>"$FAKE_LOG"
case "$*" in
-R*)
	sed 's/^/IN: /' >>"$FAKE_LOG"
	exit "${FAKE_RESTORE_RC:-0}" ;;
"-S -n --lossless")
	printf '%s' "$FAKE_SAVE"
	exit "${FAKE_SAVE_RC:-0}" ;;
-S*)
	echo "-A -t vip1.example:http -s rr" ;;
"-L --daemon")
	printf '%s' "$FAKE_DAEMONS" ;;
esac
exit 0
`

const fakeModprobe = `#!/bin/sh
echo "MODPROBE: $*" >>"$FAKE_LOG"
`

// bootEnv is a temporary /etc for the helper, with a fake goipvsadm.
type bootEnv struct {
	t   *testing.T
	dir string
	etc string
	env []string
}

func newBootEnv(t *testing.T) *bootEnv {
	t.Helper()
	dir := t.TempDir()
	b := &bootEnv{t: t, dir: dir, etc: filepath.Join(dir, "etc")}
	b.write("fake-goipvsadm", fakeGoipvsadm)
	b.write("fake-modprobe", fakeModprobe)
	for _, f := range []string{"fake-goipvsadm", "fake-modprobe"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b.env = append(os.Environ(),
		"GOIPVSADM="+filepath.Join(dir, "fake-goipvsadm"),
		"MODPROBE="+filepath.Join(dir, "fake-modprobe"),
		"GOIPVSADM_SYSCONFDIR="+b.etc,
		"FAKE_LOG="+filepath.Join(dir, "log"),
		"FAKE_SAVE=", "FAKE_SAVE_RC=", "FAKE_RESTORE_RC=", "FAKE_DAEMONS=",
	)
	return b
}

// write creates the file name (relative to the temporary directory).
func (b *bootEnv) write(name, content string) {
	b.t.Helper()
	p := filepath.Join(b.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bootEnv) read(name string) string {
	b.t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, name))
	if err != nil {
		b.t.Fatal(err)
	}
	return string(data)
}

func (b *bootEnv) setenv(kv ...string) { b.env = append(b.env, kv...) }

// run runs the helper with verb and returns its exit status, standard error
// and what the fakes logged (which it then clears).
func (b *bootEnv) run(verb string) (int, string, string) {
	b.t.Helper()
	cmd := exec.Command("sh", helper, verb)
	cmd.Env = b.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(b.dir, "log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		b.t.Fatal(err)
	}
	os.Remove(filepath.Join(b.dir, "log"))
	b.t.Logf("goipvsadm-boot %s: exit %d\nstderr:\n%s\nlog:\n%s", verb, code, stderr.String(), log)
	return code, stderr.String(), string(log)
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

const rulesWithComments = `# ipvsadm.rules
-A -t 10.0.0.1:80 -s rr
# a comment
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1
  # indented: kept, as Debian's grep -v '^#' keeps it
`

func TestStartRestoresWithoutComments(t *testing.T) {
	b := newBootEnv(t)
	b.write("etc/ipvsadm.rules", rulesWithComments)
	code, _, log := b.run("start")
	want := lines(
		"MODPROBE: -q ip_vs",
		"ARGS: -R --atomic --sync",
		"IN: ", // emptied, so that goipvsadm's line numbers are the file's
		"IN: -A -t 10.0.0.1:80 -s rr",
		"IN: ",
		"IN: -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1",
		"IN:   # indented: kept, as Debian's grep -v '^#' keeps it",
	)
	if code != 0 || log != want {
		t.Errorf("start: exit %d, log:\n%s\nwant exit 0, log:\n%s", code, log, want)
	}
}

func TestRestoreModes(t *testing.T) {
	for _, tc := range []struct {
		settings, verb, want string
	}{
		{"", "start-rules", "ARGS: -R --atomic --sync"},
		{"RESTORE=atomic", "start-rules", "ARGS: -R --atomic"},
		{"RESTORE=atomic", "reload", "ARGS: -R --atomic --sync"},
		{"", "reload", "ARGS: -R --atomic --sync"},
		{"", "plan", "ARGS: -R --atomic --dry-run --sync"},
		{"RESTORE=no", "start-rules", ""},
		{"RESTORE=no", "reload", ""},
	} {
		b := newBootEnv(t)
		b.write("etc/ipvsadm.rules", "-A -t 10.0.0.1:80 -s rr\n")
		b.write("etc/default/goipvsadm", tc.settings+"\n")
		code, _, log := b.run(tc.verb)
		got := ""
		for _, l := range strings.Split(log, "\n") {
			if strings.HasPrefix(l, "ARGS: ") {
				got = l
			}
		}
		if code != 0 || got != tc.want {
			t.Errorf("%q, %s: exit %d, ran %q; want exit 0, %q", tc.settings, tc.verb, code, got, tc.want)
		}
	}
}

func TestRulesFileChoice(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // the rule restored
	}{
		{"debian", map[string]string{
			"etc/ipvsadm.rules":     "-A -t 10.0.0.1:1 -s rr\n",
			"etc/sysconfig/ipvsadm": "-A -t 10.0.0.1:2 -s rr\n",
		}, "10.0.0.1:1"},
		{"rhel", map[string]string{
			"etc/sysconfig/ipvsadm": "-A -t 10.0.0.1:2 -s rr\n",
		}, "10.0.0.1:2"},
		{"RULES setting", map[string]string{
			"etc/ipvsadm.rules":     "-A -t 10.0.0.1:1 -s rr\n",
			"etc/default/goipvsadm": "RULES=$GOIPVSADM_SYSCONFDIR/lb/custom.rules\n",
			"etc/lb/custom.rules":   "-A -t 10.0.0.1:3 -s rr\n",
		}, "10.0.0.1:3"},
		{"RULES setting, RHEL location", map[string]string{
			"etc/sysconfig/ipvsadm":   "-A -t 10.0.0.1:2 -s rr\n",
			"etc/sysconfig/goipvsadm": "RULES=$GOIPVSADM_SYSCONFDIR/lb/custom.rules\n",
			"etc/lb/custom.rules":     "-A -t 10.0.0.1:3 -s rr\n",
		}, "10.0.0.1:3"},
	} {
		b := newBootEnv(t)
		for name, content := range tc.files {
			b.write(name, content)
		}
		code, _, log := b.run("start")
		if code != 0 || !strings.Contains(log, "IN: -A -t "+tc.want+" -s rr\n") || strings.Count(log, "IN: ") != 1 {
			t.Errorf("%s: exit %d, log:\n%s\nwant exit 0 and only %s restored", tc.name, code, log, tc.want)
		}
	}
}

func TestNoRulesFile(t *testing.T) {
	b := newBootEnv(t)
	code, stderr, log := b.run("start")
	if code != 0 || strings.Contains(log, "ARGS: -R") || !strings.Contains(stderr, "nothing to restore") {
		t.Errorf("start without a rules file: exit %d, stderr %q, log:\n%s", code, stderr, log)
	}
}

func TestUnreadableRulesFileRestoresNothing(t *testing.T) {
	// A rules file that is not a readable file must not reach goipvsadm
	// as an empty input: --sync would clear the table.
	b := newBootEnv(t)
	b.write("etc/default/goipvsadm", "RULES=$GOIPVSADM_SYSCONFDIR\n")
	code, stderr, log := b.run("start")
	if code == 0 || strings.Contains(log, "ARGS: -R") || !strings.Contains(stderr, "cannot read rules file") {
		t.Errorf("start with a directory as rules: exit %d, stderr %q, log:\n%s", code, stderr, log)
	}
}

func TestRestoreFailureFailsStart(t *testing.T) {
	b := newBootEnv(t)
	b.write("etc/ipvsadm.rules", "-A -t 10.0.0.1:80 -s rr\n")
	b.setenv("FAKE_RESTORE_RC=255")
	code, stderr, _ := b.run("start")
	if code != 1 || !strings.Contains(stderr, "failed") {
		t.Errorf("start with a failing restore: exit %d, stderr %q; want 1", code, stderr)
	}
}

func TestDebianDefaults(t *testing.T) {
	// AUTO="false", Debian's default: the rules are not loaded, the sync
	// daemons still start as DAEMON says.
	b := newBootEnv(t)
	b.write("etc/ipvsadm.rules", "-A -t 10.0.0.1:80 -s rr\n")
	b.write("etc/default/ipvsadm", lines(`AUTO="false"`, `DAEMON="both"`, `IFACE="eth1"`, `SYNCID="7"`))
	b.setenv("FAKE_DAEMONS=master sync daemon (mcast=eth1, syncid=7)\n")
	code, _, log := b.run("start")
	want := lines(
		"MODPROBE: -q ip_vs",
		"ARGS: -L --daemon", // master runs already: not started again
		"ARGS: -L --daemon",
		"ARGS: --start-daemon backup --mcast-interface eth1 --syncid 7",
	)
	if code != 0 || log != want {
		t.Errorf("start: exit %d, log:\n%s\nwant exit 0, log:\n%s", code, log, want)
	}

	code, _, log = b.run("stop")
	want = lines(
		"ARGS: -L --daemon",
		"ARGS: --stop-daemon master",
		"ARGS: -L --daemon", // backup is not running
	)
	if code != 0 || log != want {
		t.Errorf("stop: exit %d, log:\n%s\nwant exit 0, log:\n%s", code, log, want)
	}

	// AUTO="true": the rules are loaded; DAEMON=master alone.
	b.write("etc/default/ipvsadm", lines(`AUTO="true"`, `DAEMON="master"`))
	b.setenv("FAKE_DAEMONS=")
	code, _, log = b.run("start")
	want = lines(
		"MODPROBE: -q ip_vs",
		"ARGS: -R --atomic --sync",
		"IN: -A -t 10.0.0.1:80 -s rr",
		"ARGS: -L --daemon",
		"ARGS: --start-daemon master --mcast-interface eth0 --syncid 0",
	)
	if code != 0 || log != want {
		t.Errorf("start: exit %d, log:\n%s\nwant exit 0, log:\n%s", code, log, want)
	}

	// Ours wins: RESTORE=sync over AUTO="false".
	b.write("etc/default/ipvsadm", lines(`AUTO="false"`))
	b.write("etc/default/goipvsadm", lines("RESTORE=sync"))
	if _, _, log = b.run("start-rules"); !strings.Contains(log, "ARGS: -R --atomic --sync") {
		t.Errorf("RESTORE=sync did not win over AUTO=false:\n%s", log)
	}
}

func TestCompatFilesCannotDisturbTheHelper(t *testing.T) {
	// Only the known variables are taken from the ipvsadm packages' files.
	b := newBootEnv(t)
	b.write("etc/ipvsadm.rules", "-A -t 10.0.0.1:80 -s rr\n")
	b.write("etc/default/ipvsadm", lines(`AUTO="true"`, `RULES=/nonexistent`, `GOIPVSADM=/bin/false`, `ETC=/nonexistent`))
	b.write("etc/sysconfig/ipvsadm-config", lines(`IPVS_SAVE_ON_STOP="yes"`, `RESTORE=no`, `echo noise`))
	code, _, log := b.run("start-rules")
	if code != 0 || !strings.Contains(log, "IN: -A -t 10.0.0.1:80 -s rr") {
		t.Errorf("start-rules: exit %d, log:\n%s", code, log)
	}
}

func TestSaveOnStop(t *testing.T) {
	const saved = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		file  string // where the save goes; "" none
	}{
		{"default: no save", nil, ""},
		{"ours", map[string]string{"etc/default/goipvsadm": "SAVE_ON_STOP=yes\n"}, "etc/ipvsadm.rules"},
		{"rhel", map[string]string{"etc/sysconfig/ipvsadm-config": `IPVS_SAVE_ON_STOP="yes"` + "\n"}, "etc/sysconfig/ipvsadm"},
		{"ours wins over rhel", map[string]string{
			"etc/sysconfig/ipvsadm-config": `IPVS_SAVE_ON_STOP="yes"` + "\n",
			"etc/sysconfig/goipvsadm":      "SAVE_ON_STOP=no\n",
		}, ""},
		{"RULES", map[string]string{"etc/default/goipvsadm": "SAVE_ON_STOP=yes\nRULES=$GOIPVSADM_SYSCONFDIR/new/dir/lb.rules\n"}, "etc/new/dir/lb.rules"},
	} {
		b := newBootEnv(t)
		for name, content := range tc.files {
			b.write(name, content)
		}
		b.setenv("FAKE_SAVE=" + saved)
		code, _, log := b.run("stop")
		if code != 0 {
			t.Errorf("%s: stop exited %d", tc.name, code)
		}
		if tc.file == "" {
			if strings.Contains(log, "ARGS: -S") {
				t.Errorf("%s: stop saved:\n%s", tc.name, log)
			}
			continue
		}
		// Always numeric, whatever else is configured.
		if !strings.Contains(log, "ARGS: -S -n --lossless\n") {
			t.Errorf("%s: stop did not run -S -n --lossless:\n%s", tc.name, log)
		}
		if got := b.read(tc.file); got != saved {
			t.Errorf("%s: %s = %q, want %q", tc.name, tc.file, got, saved)
		}
		if strings.Contains(log, "ARGS: -C") {
			t.Errorf("%s: stop flushed without FLUSH_ON_STOP:\n%s", tc.name, log)
		}
	}
}

func TestFailedSaveKeepsTheFile(t *testing.T) {
	b := newBootEnv(t)
	b.write("etc/ipvsadm.rules", "old\n")
	b.setenv("FAKE_SAVE=partial", "FAKE_SAVE_RC=1")
	code, stderr, _ := b.run("save")
	if code == 0 || !strings.Contains(stderr, "was not changed") {
		t.Errorf("save: exit %d, stderr %q", code, stderr)
	}
	if got := b.read("etc/ipvsadm.rules"); got != "old\n" {
		t.Errorf("rules file after a failed save: %q", got)
	}
	entries, _ := os.ReadDir(b.etc)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".goipvsadm-save") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

func TestFlushAndUnloadOnStop(t *testing.T) {
	b := newBootEnv(t)
	b.write("etc/default/goipvsadm", "FLUSH_ON_STOP=yes\nUNLOAD_MODULES=yes\n")
	code, _, log := b.run("stop-rules")
	if code != 0 || !strings.Contains(log, "ARGS: -C\n") || !strings.Contains(log, "MODPROBE: -r -q ip_vs\n") {
		t.Errorf("stop-rules: exit %d, log:\n%s", code, log)
	}
	// RHEL's IPVS_MODULES_UNLOAD="yes" alone: unloading would flush the
	// table behind FLUSH_ON_STOP=no's back, so nothing is unloaded.
	b = newBootEnv(t)
	b.write("etc/sysconfig/ipvsadm-config", `IPVS_MODULES_UNLOAD="yes"`+"\n")
	code, stderr, log := b.run("stop-rules")
	if code != 0 || log != "" || !strings.Contains(stderr, "not unloaded") {
		t.Errorf("stop-rules: exit %d, stderr %q, log:\n%s", code, stderr, log)
	}
}

func TestRestartSavesWithSaveOnRestart(t *testing.T) {
	b := newBootEnv(t)
	b.write("etc/sysconfig/ipvsadm-config", `IPVS_SAVE_ON_RESTART="yes"`+"\n")
	b.setenv("FAKE_SAVE=-A -t 10.0.0.9:80 -s rr\n")
	code, _, log := b.run("restart")
	// The save comes first, and the restore reads what it saved.
	want := lines(
		"ARGS: -S -n --lossless",
		"MODPROBE: -q ip_vs",
		"ARGS: -R --atomic --sync",
		"IN: -A -t 10.0.0.9:80 -s rr",
	)
	if code != 0 || log != want {
		t.Errorf("restart: exit %d, log:\n%s\nwant:\n%s", code, log, want)
	}
}

func TestStatus(t *testing.T) {
	b := newBootEnv(t)
	if _, _, log := b.run("status"); log != lines("ARGS: -L -n", "ARGS: -L --daemon") {
		t.Errorf("status ran:\n%s", log)
	}
	b.write("etc/sysconfig/ipvsadm-config", `IPVS_STATUS_NUMERIC="no"`+"\n")
	if _, _, log := b.run("status"); log != lines("ARGS: -L", "ARGS: -L --daemon") {
		t.Errorf("status with IPVS_STATUS_NUMERIC=no ran:\n%s", log)
	}
}

func TestBadUsageAndSettings(t *testing.T) {
	b := newBootEnv(t)
	if code, _, _ := b.run("bogus"); code != 2 {
		t.Errorf("bogus verb: exit %d, want 2", code)
	}
	b.write("etc/default/goipvsadm", "RESTORE=sometimes\n")
	if code, stderr, log := b.run("start"); code != 1 || !strings.Contains(stderr, "RESTORE=sometimes") || log != "" {
		t.Errorf("bad RESTORE: exit %d, stderr %q, log %q", code, stderr, log)
	}
	b.write("etc/default/goipvsadm", "DAEMON=primary\n")
	if code, stderr, _ := b.run("start"); code != 1 || !strings.Contains(stderr, "DAEMON=primary") {
		t.Errorf("bad DAEMON: exit %d, stderr %q", code, stderr)
	}
}
