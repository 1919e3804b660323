package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// execute runs one parsed command and returns ipvsadm's exit status for it:
// 0, 255 for a kernel error on a modifying command, 1 for a failed listing.
func (a *app) execute(ctx context.Context, cmd *cmdline.Command) int {
	c := a.client
	key := cmd.Service.Key()
	modify := func(op operation, err error) int {
		if err != nil {
			return a.kernelFailure(op, err, 255)
		}
		return 0
	}
	if op, ok := cmd.Op(); ok {
		results, err := c.Apply(ctx, []ipvs.Op{op})
		if results[0] != nil {
			err = results[0]
		}
		return modify(operationOf(op.Kind), err)
	}
	switch cmd.Kind {
	case cmdline.Flush:
		return modify(opGeneric, c.Flush(ctx))
	case cmdline.StartDaemon:
		return modify(opStartDaemon, c.StartDaemon(ctx, cmd.Daemon))
	case cmdline.StopDaemon:
		return modify(opStopDaemon, c.StopDaemon(ctx, cmd.Daemon))
	case cmdline.Zero:
		if zeroesAll(cmd) {
			return modify(opZero, c.ZeroAll(ctx))
		}
		return modify(opZero, c.Zero(ctx, key))
	case cmdline.List:
		streamingGC()
		return a.list(ctx, cmd)
	case cmdline.Save:
		streamingGC()
		return a.save(ctx, cmd.Format)
	case cmdline.Restore:
		return a.restore(ctx, cmd.Restore)
	}
	return 0
}

// zeroesAll says whether -Z zeroes every service: libipvs leaves the
// service out of the request when its mark, address and port are all zero,
// which the kernel takes as "all" (so -Z -t 0.0.0.0:0 zeroes everything).
func zeroesAll(cmd *cmdline.Command) bool {
	if !cmd.Options.Has(cmdline.OptService) {
		return true
	}
	s := cmd.Service
	return s.FWMark == 0 && s.Port == 0 && (!s.Addr.IsValid() || s.Addr.IsUnspecified())
}

// streamingGC raises the GC target for the listings, which stream a table
// with a small live heap: the default would collect every few megabytes
// while a large table goes by. (A restore holds its parsed rules, so a
// higher target there would only raise its peak memory.)
func streamingGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
