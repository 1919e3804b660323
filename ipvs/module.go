package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// modprobe is the program LoadModule runs (tests replace it).
var modprobe = "/sbin/modprobe"

// LoadModule runs "/sbin/modprobe -- ip_vs", as ipvsadm does when it finds
// no IPVS. The library never calls it by itself: most kernels load the
// module when the family is first looked up, and modprobe rarely works in
// containers. It writes nothing to the process's output: when modprobe
// fails, the error says what it printed, and wraps an *exec.ExitError
// whose Stderr holds it as printed.
func LoadModule(ctx context.Context) error {
	_, err := exec.CommandContext(ctx, modprobe, "--", "ip_vs").Output()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("ipvs: %s -- ip_vs: %w: %s", modprobe, err, strings.TrimSpace(string(ee.Stderr)))
	}
	return fmt.Errorf("ipvs: %s -- ip_vs: %w", modprobe, err)
}
