//go:build e2e

package smoketest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// ipvsadm returns the reference binary, skipping outside the e2e guest: the
// tests change the kernel's IPVS table.
func ipvsadm(t *testing.T) string {
	t.Helper()
	if os.Getenv("GOIPVSADM_E2E") != "1" {
		t.Skip("not in the e2e guest (GOIPVSADM_E2E != 1)")
	}
	bin := os.Getenv("IPVSADM")
	if bin == "" {
		bin = "/usr/sbin/ipvsadm"
	}
	return bin
}

// run runs ipvsadm with args and returns its standard output, failing the
// test on a non-zero exit.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ipvsadm %s: %v; stderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func flush(t *testing.T, bin string) {
	t.Helper()
	run(t, bin, "-C")
	t.Cleanup(func() { run(t, bin, "-C") })
}

func loadedModules(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	mods := make(map[string]bool)
	for _, line := range strings.Split(string(data), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			mods[name] = true
		}
	}
	return mods
}

func TestServicesAndDestinations(t *testing.T) {
	bin := ipvsadm(t)
	flush(t, bin)
	if loadedModules(t)["ip_vs_sh"] {
		t.Fatal("ip_vs_sh is loaded before any service uses it; the on-demand check below would prove nothing")
	}

	run(t, bin, "-A", "-t", "10.0.0.1:80", "-s", "rr")
	run(t, bin, "-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:80", "-m")
	// The kernel loads ip_vs_sh itself, through /sbin/modprobe.
	run(t, bin, "-A", "-t", "10.0.0.1:81", "-s", "sh")
	run(t, bin, "-A", "-t", "[2001:db8::1]:443", "-s", "wlc")
	run(t, bin, "-a", "-t", "[2001:db8::1]:443", "-r", "[2001:db8::2]:443", "-m", "-w", "3")
	if !loadedModules(t)["ip_vs_sh"] {
		t.Error("ip_vs_sh was not loaded on demand")
	}

	want := strings.Join([]string{
		"IP Virtual Server version 1.2.1 (size=4096)",
		"Prot LocalAddress:Port Scheduler Flags",
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
		"TCP  10.0.0.1:80 rr",
		"  -> 10.0.0.2:80                  Masq    1      0          0         ",
		"TCP  10.0.0.1:81 sh",
		"TCP  [2001:db8::1]:443 wlc",
		"  -> [2001:db8::2]:443            Masq    3      0          0         ",
		"",
	}, "\n")
	if got := run(t, bin, "-Ln"); got != want {
		t.Errorf("ipvsadm -Ln:\n%s\nwant:\n%s", got, want)
	}

	// Without -n, names come from the guest's /etc/hosts and /etc/services.
	named := run(t, bin, "-L")
	for _, line := range []string{
		"TCP  vip1.example:http rr",
		"  -> rs1.example:http",
		"TCP  vip1.example:81 sh",
		"TCP  [v6vip.example]:https wlc",
	} {
		if !strings.Contains(named, line) {
			t.Errorf("ipvsadm -L lacks %q:\n%s", line, named)
		}
	}

	run(t, bin, "-C")
	if got, want := run(t, bin, "-Ln"), strings.Join(strings.Split(want, "\n")[:3], "\n")+"\n"; got != want {
		t.Errorf("ipvsadm -Ln after -C:\n%s\nwant:\n%s", got, want)
	}
}

func TestSyncDaemon(t *testing.T) {
	bin := ipvsadm(t)
	// eth0 is ipvsadm's default multicast interface.
	run(t, bin, "--start-daemon", "master")
	t.Cleanup(func() { run(t, bin, "--stop-daemon", "master") })

	got := run(t, bin, "-L", "--daemon")
	// Newer kernels also report maxlen, group, port and ttl.
	if !regexp.MustCompile(`^master sync daemon \(mcast=eth0, syncid=0[,)]`).MatchString(got) {
		t.Errorf("ipvsadm -L --daemon = %q, want a master daemon on eth0", got)
	}
}
