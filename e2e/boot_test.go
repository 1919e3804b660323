package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// bootChecks are the checks each phase of the boot test must pass, by the
// names e2e/boot/guest/.../check.sh gives them: a check that fails, or that
// the script no longer runs, fails the test.
var bootChecks = map[string][]string{
	// The first boot of the disk with the .deb: restore at boot and its
	// ordering, reload, a bad rules file, the ipvsadm packages' settings,
	// the sync daemon, the save on stop.
	"boot1": {"unit-active", "restored-at-boot", "restored-before-network-pre",
		"sync-daemon-after-network", "reload-in-place", "bad-line", "debian-auto",
		"rhel-status-numeric", "rhel-save-on-restart", "rhel-modules-unload",
		"stop-saves-lossless", "recorded-for-reboot"},
	// The second boot of the same disk: the table saved at power-off, and
	// the packages beside Debian's ipvsadm.
	"boot2": {"unit-active", "reboot-keeps-table", "ipvsadm-files-intact", "alternative-after-removal"},
	// The disk with make install.
	"install": {"installed-by-make", "unit-active", "restored-at-boot", "restored-before-network-pre"},
}

// TestBoot boots Debian 12 with systemd from the disk images that
// e2e/boot/image.sh made in $E2E_BOOT_IMAGES, with the 6.1 kernel, and
// checks the boot service there (make e2e-boot sets everything up; plain go
// test skips it). The .deb disk boots twice, the make install disk once,
// both at the same time.
func TestBoot(t *testing.T) {
	if os.Getenv("GOIPVSADM_E2E_BOOT") != "1" {
		t.Skip("boots Debian under QEMU: run make e2e-boot")
	}
	images := os.Getenv("E2E_BOOT_IMAGES")
	if images == "" {
		t.Fatal("E2E_BOOT_IMAGES is not set: make the images with e2e/boot/image.sh")
	}
	k, err := LoadKernel(DefaultCache(), "6.1")
	if err != nil {
		t.Fatal(err)
	}
	opts := RunOptions{
		Timeout: envDuration(t, "E2E_VM_TIMEOUT", 8*time.Minute),
		// A check prints when it starts and when it ends; under load
		// one may take minutes.
		IdleTimeout: envDuration(t, "E2E_VM_IDLE", 6*time.Minute),
		// The shutdown after the checks saves the table for the reboot.
		PowerOffGrace: 3 * time.Minute,
	}
	t.Run("deb", func(t *testing.T) {
		t.Parallel()
		disk := filepath.Join(images, "deb.img")
		if bootPhase(t, k, disk, "boot1", opts) {
			bootPhase(t, k, disk, "boot2", opts)
		}
	})
	t.Run("install", func(t *testing.T) {
		t.Parallel()
		bootPhase(t, k, filepath.Join(images, "install.img"), "install", opts)
	})
}

// bootPhase boots disk for one phase of check.sh and reports its checks.
// It returns whether the guest ran the phase to its end.
func bootPhase(t *testing.T, k Kernel, disk, phase string, opts RunOptions) bool {
	g := &DiskGuest{Kernel: k, Disk: disk, Append: []string{"systemd.wants=goipvsadm-e2e@" + phase + ".service"}}
	opts.Console = func(line string) { t.Logf("%s: %s", phase, line) }
	res, err := g.Run(context.Background(), opts)
	if err != nil {
		t.Errorf("%s: %v", phase, err)
		return false
	}
	t.Logf("%s: kernel %s, finished in %.1fs", phase, k.Release, res.Elapsed.Seconds())
	checks, info := bootCheckResults(res.Console)
	for _, line := range info {
		t.Logf("%s: %s", phase, line)
	}
	for _, name := range bootChecks[phase] {
		why, ran := checks[name]
		switch {
		case !ran:
			t.Errorf("%s: check %s did not run", phase, name)
		case why != "":
			t.Errorf("%s: check %s failed: %s", phase, name, why)
		}
	}
	if !res.Done {
		t.Errorf("%s: the guest did not finish its checks", phase)
	}
	// The kernel's last words: systemd shut down in order (and stopped
	// goipvsadm.service) rather than QEMU being stopped.
	if !slices.ContainsFunc(res.Console, func(l string) bool { return strings.Contains(l, "reboot: Power down") }) {
		t.Errorf("%s: the guest did not power off by itself", phase)
		return false
	}
	return res.Done
}

// bootLine matches check.sh's lines, as the console shows a unit's output
// ("[ 16.2] check.sh[242]: BOOT-CHECK PASS unit-active") or bare.
var bootLine = regexp.MustCompile(`^(?:\[[^\]]*\] \S+\[\d+\]: )?BOOT-(?:CHECK (PASS|FAIL) ([^ :]+)(?:: (.*))?|INFO (.*))$`)

// bootCheckResults reads check.sh's console lines: the result of each check
// by name ("" when it passed, else why it failed) and the BOOT-INFO lines.
func bootCheckResults(console []string) (checks map[string]string, info []string) {
	checks = make(map[string]string)
	for _, line := range console {
		m := bootLine.FindStringSubmatch(line)
		switch {
		case m == nil:
		case m[1] == "PASS":
			checks[m[2]] = ""
		case m[1] == "FAIL":
			checks[m[2]] = "FAIL " + m[3]
		default:
			info = append(info, m[4])
		}
	}
	return checks, info
}
