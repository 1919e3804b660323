//go:build e2e

package servicetest

import (
	"strings"
	"testing"
)

// tableView is the table and timeouts as the reference ipvsadm shows
// them, thresholds included.
func tableView(t *testing.T, ipvsadm string) string {
	t.Helper()
	return saveN(t, ipvsadm) + sh(t, ipvsadm+" -Ln --thresholds") + sh(t, ipvsadm+" -L --timeout")
}

// TestGuestBootCycleKeepsEverything is the reported loss: a table with
// tunnels, thresholds, scheduler flags and a mark of 3,000,000,000, saved
// by the boot helper, flushed and restored by start-rules, used to come
// back empty (the mark was refused, the restore is all-or-nothing) and
// without thresholds. Now it comes back whole, timeouts too; and a file
// ipvsadm 1.31 saved of the same table restores as well, as far as
// ipvsadm saved it.
func TestGuestBootCycleKeepsEverything(t *testing.T) {
	ipvsadm, goipvsadm := guest(t)
	t.Cleanup(func() { sh(t, ipvsadm+" -C && "+ipvsadm+" --set 900 120 300") })
	for _, c := range []string{
		"-A -t 10.0.0.1:80 -s wrr -p 60 -M 255.255.255.0",
		"-a -t 10.0.0.1:80 -r 10.1.0.2:80 -i -w 3 -x 1000 -y 100 --tun-type gue --tun-port 6080 --tun-csum",
		"-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -i -w 1 --tun-type gre --tun-csum",
		"-A -u 10.0.0.2:53 -s sh -b sh-fallback,flag-3 -o",
		"-a -u 10.0.0.2:53 -r 10.1.0.3:53 -m -x 50",
		"-A -f 3000000000 -s mh -b mh-port",
		"-a -f 3000000000 -r 10.1.0.4:0 -g -w 2 -x 10 -y 5",
		"-A -f 7 -6 -s rr -p 30 -M 64 --pe sip",
		"-A -t [2001:db8::1]:443 -s lc -M 96",
		"-a -t [2001:db8::1]:443 -r [2001:db8::3]:8443 -m -x 7",
		"--set 3600 60 30",
	} {
		sh(t, ipvsadm+" "+c)
	}
	want := tableView(t, ipvsadm)

	b := guestEnv(t, goipvsadm)
	if code, stderr, _ := b.run("save"); code != 0 {
		t.Fatalf("goipvsadm-boot save: exit %d: %s", code, stderr)
	}
	sh(t, ipvsadm+" -C && "+ipvsadm+" --set 900 120 300")
	if code, stderr, _ := b.run("start-rules"); code != 0 {
		t.Fatalf("goipvsadm-boot start-rules of\n%s: exit %d: %s", b.read("etc/ipvsadm.rules"), code, stderr)
	}
	if got := tableView(t, ipvsadm); got != want {
		t.Errorf("after save, flush and start-rules:\n%s\nwant:\n%s\nthe rules file:\n%s", got, want, b.read("etc/ipvsadm.rules"))
	}

	// ipvsadm's own save writes the mark as -1294967296.
	saved := saveN(t, ipvsadm)
	if !strings.Contains(saved, "-f -1294967296 ") {
		t.Fatalf("ipvsadm -Sn has no negative mark, the test proves nothing:\n%s", saved)
	}
	b.write("etc/ipvsadm.rules", saved)
	sh(t, ipvsadm+" -C")
	if code, stderr, _ := b.run("start-rules"); code != 0 {
		t.Fatalf("goipvsadm-boot start-rules of ipvsadm's save: exit %d: %s", code, stderr)
	}
	if got := saveN(t, ipvsadm); got != saved {
		t.Errorf("ipvsadm's save restored as\n%s\nwant\n%s", got, saved)
	}
}
