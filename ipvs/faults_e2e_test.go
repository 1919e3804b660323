//go:build e2e

package ipvs_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// unloadIPVS removes ip_vs and its schedulers; the test puts ip_vs back.
func unloadIPVS(t *testing.T) {
	t.Helper()
	f, err := os.Open("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	var scheds []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, _, _ := strings.Cut(sc.Text(), " "); strings.HasPrefix(name, "ip_vs_") {
			scheds = append(scheds, name)
		}
	}
	f.Close()
	for _, m := range append(scheds, "ip_vs") {
		if out, err := exec.Command("rmmod", m).CombinedOutput(); err != nil {
			t.Fatalf("rmmod %s: %v %s", m, err, out)
		}
	}
}

// TestModuleUnloadedUnderClient: with ip_vs unloaded between two calls, a
// Client's calls fail with ErrUnavailable (no hang), and once the module
// is back the same Client works again (the family may have a new
// number then).
func TestModuleUnloadedUnderClient(t *testing.T) {
	c := kernelClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang fails, it does not block the suite
	defer cancel()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	must(t, c.CreateService(ctx, svc))
	must(t, c.Flush(ctx))
	defer exec.Command("modprobe", "ip_vs").Run()
	// The kernel loads ip_vs again when anyone asks for the family: keep
	// it away while the test looks at a kernel without it.
	const helper = "/proc/sys/kernel/modprobe"
	saved, err := os.ReadFile(helper)
	must(t, err)
	must(t, os.WriteFile(helper, []byte("/bin/false\n"), 0o644))
	defer os.WriteFile(helper, saved, 0o644)
	unloadIPVS(t)
	for i := 0; i < 2; i++ {
		if _, err := c.Services(ctx); !errors.Is(err, ipvs.ErrUnavailable) {
			t.Errorf("Services %d without ip_vs: %v, want ErrUnavailable", i, err)
		}
	}
	if err := c.CreateService(ctx, svc); !errors.Is(err, ipvs.ErrUnavailable) {
		t.Errorf("CreateService without ip_vs: %v, want ErrUnavailable", err)
	}
	must(t, os.WriteFile(helper, saved, 0o644))
	if out, err := exec.Command("modprobe", "ip_vs").CombinedOutput(); err != nil {
		t.Fatalf("modprobe ip_vs: %v %s", err, out)
	}
	must(t, c.CreateService(ctx, svc))
	got, err := c.Services(ctx)
	if err != nil || len(got) != 1 {
		t.Errorf("Services after ip_vs is back: %v, %v; want the one service", got, err)
	}
	// A batch meets the same.
	must(t, c.Flush(ctx))
	must(t, os.WriteFile(helper, []byte("/bin/false\n"), 0o644))
	unloadIPVS(t)
	results, err := c.Apply(ctx, []ipvs.Op{ipvs.CreateService(svc)})
	if !errors.Is(err, ipvs.ErrUnavailable) || !errors.Is(results[0], ipvs.ErrUnavailable) {
		t.Errorf("Apply without ip_vs: %v, %v; want ErrUnavailable", results, err)
	}
	must(t, os.WriteFile(helper, saved, 0o644))
	if out, err := exec.Command("modprobe", "ip_vs").CombinedOutput(); err != nil {
		t.Fatalf("modprobe ip_vs: %v %s", err, out)
	}
	if results, err := c.Apply(ctx, []ipvs.Op{ipvs.CreateService(svc)}); err != nil || results[0] != nil {
		t.Errorf("Apply after ip_vs is back: %v, %v", results, err)
	}
}

// TestNamespaceRemovedUnderClient: a Client keeps the network namespace
// it opened alive (its sockets hold it) after "ip netns del", and goes on
// answering about it; a new Client for the removed path gets a clear
// error; a namespace created again under the path is a new, empty one.
func TestNamespaceRemovedUnderClient(t *testing.T) {
	kernelClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ipBin := findIP(t)
	const name = "ipvsgone"
	path := "/run/netns/" + name
	exec.Command(ipBin, "netns", "del", name).Run()
	if out, err := exec.Command(ipBin, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command(ipBin, "netns", "del", name).Run()
	c, err := ipvs.New(&ipvs.Config{NetNSPath: path})
	must(t, err)
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: addr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	must(t, c.CreateService(ctx, svc))
	if out, err := exec.Command(ipBin, "netns", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del: %v %s", err, out)
	}
	if got, err := c.Services(ctx); err != nil || len(got) != 1 {
		t.Errorf("Services after ip netns del: %v, %v; want the namespace's one service", got, err)
	}
	if _, err := ipvs.New(&ipvs.Config{NetNSPath: path}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New for a removed namespace: %v, want ErrNotExist", err)
	}
	if out, err := exec.Command(ipBin, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add again: %v %s", err, out)
	}
	fresh, err := ipvs.New(&ipvs.Config{NetNSPath: path})
	must(t, err)
	defer fresh.Close()
	if got, err := fresh.Services(ctx); err != nil || len(got) != 0 {
		t.Errorf("Services in the namespace made again: %v, %v; want none", got, err)
	}
}
