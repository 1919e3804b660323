package save

import (
	"fmt"
	"strings"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// A lossless save checks each line it writes by reading it back as -R
// will. A line can carry only what ipvsadm's command line accepts; the
// kernel interface also takes values it refuses (a threshold over
// 2^31-1, a timeout over 31 days, one-packet scheduling of a TCP
// service) or changes (the port of a direct-routing real server), and a
// save of those would not restore the same table. Writer.Loss reports
// the first such line.

// readBackParser parses lines as -R does, without name lookups (a
// lossless save is numeric).
var readBackParser = &cmdline.Parser{Resolver: cmdline.StaticResolver{}, IpvsadmOnly: true, SavedMarks: true}

// field is one attribute as the kernel has it and as the line gives it.
type field struct {
	name      string
	want, got any
}

// readBack parses line (without its newline) and returns what it loses
// of what fields says the kernel has, or "" if nothing.
func readBack(line []byte, fields func(*cmdline.Command) []field) string {
	cmd, err := readBackParser.Parse("goipvsadm", strings.Fields(string(line)))
	if err != nil {
		return err.Error()
	}
	for _, f := range fields(cmd) {
		if f.want != f.got {
			return fmt.Sprintf("%s %v reads back as %v", f.name, f.want, f.got)
		}
	}
	return ""
}

func serviceFields(svc *ipvs.Service) func(*cmdline.Command) []field {
	sched := svc.Scheduler
	if sched == "" {
		sched = ipvs.DefaultScheduler // what an empty one means, and is written as
	}
	return func(c *cmdline.Command) []field {
		got := &c.Service
		return []field{
			{"service", svc.Key(), got.Key()},
			{"scheduler", sched, got.Scheduler},
			{"flags", svc.Flags, got.Flags},
			{"persistence timeout", svc.Timeout, got.Timeout},
			{"netmask", svc.Netmask, got.Netmask},
			{"persistence engine", svc.PEName, got.PEName},
		}
	}
}

func destinationFields(svc *ipvs.Service, d *ipvs.Destination) func(*cmdline.Command) []field {
	return func(c *cmdline.Command) []field {
		got := &c.Dest
		return []field{
			{"service", svc.Key(), c.Service.Key()},
			{"real server", d.Key(), got.Key()},
			{"forwarding method", d.ForwardMethod, got.ForwardMethod},
			{"weight", d.Weight, got.Weight},
			{"upper threshold", d.UpperThreshold, got.UpperThreshold},
			{"lower threshold", d.LowerThreshold, got.LowerThreshold},
			{"tunnel type", d.TunnelType, got.TunnelType},
			{"tunnel port", d.TunnelPort, got.TunnelPort},
			{"tunnel flags", d.TunnelFlags, got.TunnelFlags},
		}
	}
}

func timeoutFields(t ipvs.Timeouts) func(*cmdline.Command) []field {
	return func(c *cmdline.Command) []field {
		return []field{{"timeouts", t, c.Timeouts}}
	}
}

// checkLine records the first line of a lossless save that does not read
// back as the kernel's object; b is the line without its newline.
func (w *Writer) checkLine(b []byte, fields func(*cmdline.Command) []field) {
	if w.loss != nil {
		return
	}
	if why := readBack(b, fields); why != "" {
		w.loss = fmt.Errorf("%q cannot restore the kernel's table: %s", b, why)
	}
}

// Loss returns, for a lossless save, the first line written that does
// not restore what the kernel has (see above), or nil. Such a value can
// be set only through the kernel interface, never by a rules file; the
// line is written all the same, as close as the format allows.
func (w *Writer) Loss() error { return w.loss }
