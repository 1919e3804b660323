// Package controller is a small health-checking load-balancer controller
// built on package ipvs: it keeps one virtual service's real servers in
// line with a list of backends, draining (weight 0) those that fail their
// health check instead of removing them, so their connections finish.
//
// It is an example of the library used from another module; it imports
// only public packages.
package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Backend is a real server and the weight it gets while healthy.
type Backend struct {
	Addr   netip.AddrPort
	Weight uint32
}

// Controller reconciles one virtual service.
type Controller struct {
	Client  *ipvs.Client
	Service ipvs.Service
	// Healthy reports whether a backend should take new connections.
	Healthy func(ctx context.Context, b Backend) bool
}

// Sync makes the kernel's table match backends: the service exists with
// the configured settings, every backend is a destination (with its
// weight when healthy, 0 when not), and no other destination remains.
// Settings the controller does not manage (thresholds, tunnels) are kept.
func (c *Controller) Sync(ctx context.Context, backends []Backend) error {
	k := c.Service.Key()
	if err := c.ensureService(ctx); err != nil {
		return err
	}
	current, err := c.Client.Destinations(ctx, k)
	if err != nil {
		return err
	}
	have := make(map[ipvs.DestinationKey]ipvs.Destination, len(current))
	for _, d := range current {
		have[d.Key()] = d
	}
	var ops []ipvs.Op
	for _, b := range backends {
		dk := ipvs.DestinationKey{Addr: b.Addr.Addr(), Port: b.Addr.Port()}
		weight := uint32(0)
		if c.Healthy == nil || c.Healthy(ctx, b) {
			weight = b.Weight
		}
		d, ok := have[dk]
		delete(have, dk)
		switch {
		case !ok:
			ops = append(ops, ipvs.CreateDestination(k, ipvs.Destination{Addr: dk.Addr, Port: dk.Port, Weight: weight}))
		case d.Weight != weight:
			err := c.Client.ModifyDestination(ctx, k, dk, func(d *ipvs.Destination) { d.Weight = weight })
			if err != nil && !errors.Is(err, ipvs.ErrDestinationNotFound) {
				return err
			}
		}
	}
	for dk := range have {
		ops = append(ops, ipvs.DeleteDestination(k, dk))
	}
	return c.apply(ctx, ops)
}

// ensureService creates the service, or brings its settings back to the
// configured ones.
func (c *Controller) ensureService(ctx context.Context) error {
	got, err := c.Client.Service(ctx, c.Service.Key())
	switch {
	case errors.Is(err, ipvs.ErrServiceNotFound):
		return c.Client.CreateService(ctx, c.Service)
	case err != nil:
		return err
	}
	want := c.Service
	want.Family, want.Stats = got.Family, got.Stats
	if got != want {
		return c.Client.UpdateService(ctx, c.Service)
	}
	return nil
}

// apply runs ops as one batch and joins their failures.
func (c *Controller) apply(ctx context.Context, ops []ipvs.Op) error {
	if len(ops) == 0 {
		return nil
	}
	results, err := c.Client.Apply(ctx, ops)
	if err != nil {
		return err
	}
	return errors.Join(results...)
}

// Run syncs every interval until ctx ends, and returns ctx's error. A
// failed sync is reported to onError and retried at the next tick.
func (c *Controller) Run(ctx context.Context, backends []Backend, interval time.Duration, onError func(error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.Sync(ctx, backends); err != nil && onError != nil && !ended(ctx) {
			onError(fmt.Errorf("sync %v: %w", c.Service.Key(), err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ended reports whether ctx is over, counting a deadline as over the
// moment it passes (a socket's deadline may fire before ctx's timer).
func ended(ctx context.Context) bool {
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return true
	}
	return ctx.Err() != nil
}
