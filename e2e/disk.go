package e2e

import (
	"context"
	"strings"
)

// A DiskGuest boots a kernel with its root file system on a disk image and
// no initramfs: the image is attached as an NVMe drive, whose driver and
// ext4 are built into Debian's cloud kernels. The boot test (make e2e-boot)
// boots Debian with systemd this way; the guest writes to the image, so a
// second boot of the same image sees what the first one saved.
type DiskGuest struct {
	Kernel Kernel
	Disk   string   // a raw image of an ext4 file system
	Append []string // more kernel command line arguments
}

// Run boots the guest once and waits for it to power off, as Guest.Run
// does. Whatever runs in the guest prints the E2E-DONE marker.
func (g *DiskGuest) Run(ctx context.Context, opts RunOptions) (*Result, error) {
	return runQEMU(ctx, diskQEMUArgs(g.Kernel.Vmlinuz, g.Disk, g.Append), opts)
}

// diskQEMUArgs is QEMUArgs with a root disk instead of an initramfs.
func diskQEMUArgs(vmlinuz, disk string, extra []string) []string {
	cmdline := append([]string{guestCmdline, "root=/dev/nvme0n1", "rootfstype=ext4", "rw"}, extra...)
	return append(baseQEMUArgs(vmlinuz),
		"-drive", "file="+disk+",format=raw,if=none,id=root",
		"-device", "nvme,serial=e2e-root,drive=root",
		"-append", strings.Join(cmdline, " "))
}
