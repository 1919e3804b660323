package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// list runs -L in its five forms (ipvsadm's precedence: connections, one
// service, timeouts, daemons, the whole table). Failures exit 1.
func (a *app) list(ctx context.Context, cmd *cmdline.Command) int {
	f := cmd.Format
	if f.JSON {
		return a.listJSON(ctx, cmd)
	}
	opts := listing.Options{
		Numeric: f.Numeric, Exact: f.Exact, NoSort: f.NoSort,
		Stats: f.Stats, Rate: f.Rate, Thresholds: f.Thresholds,
		PersistentConn: f.PersistentConn, TunInfo: f.TunInfo,
	}
	w := listing.NewWriter(a.stdout, opts, a.names)
	defer w.Flush()

	switch cmd.ListMode() {
	case cmdline.ListConnections:
		return a.listConnections(w)
	case cmdline.ListTimeouts:
		t, err := a.client.Timeouts(ctx)
		if err != nil {
			return 1 // ipvsadm says nothing here
		}
		w.Timeouts(t)
		return 0
	case cmdline.ListDaemons:
		ds, err := a.client.Daemons(ctx)
		if err != nil {
			return 1
		}
		w.Daemons(ds)
		return 0
	case cmdline.ListService:
		svc, err := a.client.Service(ctx, cmd.Service.Key())
		if err != nil {
			return a.kernelFailure(opGetService, err, 1)
		}
		dests, err := a.client.Destinations(ctx, svc.Key())
		if err != nil {
			return a.kernelFailure(opGetDests, err, 1)
		}
		w.Title()
		a.printService(w, &svc, dests, f.NoSort)
		return 0
	}

	info, err := a.client.Info(ctx)
	if err != nil {
		return a.kernelFailure(opGeneric, err, 1)
	}
	// The version line goes out before the services are fetched, so it is
	// printed even when the dump fails, as ipvsadm prints it.
	w.Header(info)
	svcs, err := a.client.Services(ctx)
	if err != nil {
		w.Flush()
		return a.kernelFailure(opGeneric, err, 1)
	}
	if !f.NoSort {
		listing.SortServices(svcs)
	}
	w.Title()
	for i := range svcs {
		dests, err := a.client.Destinations(ctx, svcs[i].Key())
		if err != nil {
			w.Flush()
			return a.kernelFailure(opGetDests, err, 1)
		}
		a.printService(w, &svcs[i], dests, f.NoSort)
	}
	return 0
}

func (a *app) printService(w *listing.Writer, svc *ipvs.Service, dests []ipvs.Destination, noSort bool) {
	if !noSort {
		listing.SortDestinations(dests)
	}
	w.Service(svc)
	for i := range dests {
		w.Destination(svc, &dests[i])
	}
}

// listConnections prints -L -c from the kernel's connection table file as
// ipvsadm does: "cannot open file" when it cannot be opened, "unexpected
// input" when it lacks its header, otherwise the rows as they are read (a
// malformed line ends the listing with status 1 and no message).
func (a *app) listConnections(w *listing.Writer) int {
	f, err := os.Open(filepath.Join(a.procRoot, ipvs.ConnProcFile))
	if err != nil {
		w.Flush()
		fmt.Fprintln(a.stderr, "cannot open file /proc/net/ip_vs_conn")
		return 1
	}
	defer f.Close()
	s, err := ipvs.NewConnScanner(f)
	if err != nil {
		w.Flush()
		fmt.Fprintln(a.stderr, "unexpected input from /proc/net/ip_vs_conn")
		return 1
	}
	w.ConnHeader()
	for s.Scan() {
		c := s.Connection()
		w.Connection(&c)
	}
	if s.Err() != nil {
		return 1
	}
	return 0
}

// listJSON runs -L --json (goipvsadm's own): the same five forms, each as
// one JSON document (docs/json.md), with the text listing's messages and
// exit statuses. The document is written only once what it starts with
// was read; a failure half way through the table or the connections leaves
// a truncated document on stdout (and the status says so).
func (a *app) listJSON(ctx context.Context, cmd *cmdline.Command) int {
	noSort := cmd.Format.NoSort
	w := listing.NewJSONWriter(a.stdout, noSort)
	defer w.Flush()

	switch cmd.ListMode() {
	case cmdline.ListConnections:
		return a.listConnectionsJSON(w)
	case cmdline.ListTimeouts:
		t, err := a.client.Timeouts(ctx)
		if err != nil {
			return 1
		}
		w.Timeouts(t)
		return 0
	case cmdline.ListDaemons:
		ds, err := a.client.Daemons(ctx)
		if err != nil {
			return 1
		}
		w.Daemons(ds)
		return 0
	case cmdline.ListService:
		svc, err := a.client.Service(ctx, cmd.Service.Key())
		if err != nil {
			return a.kernelFailure(opGetService, err, 1)
		}
		dests, err := a.client.Destinations(ctx, svc.Key())
		if err != nil {
			return a.kernelFailure(opGetDests, err, 1)
		}
		w.SingleService(&svc, dests)
		return 0
	}

	info, err := a.client.Info(ctx)
	if err != nil {
		return a.kernelFailure(opGeneric, err, 1)
	}
	svcs, err := a.client.Services(ctx)
	if err != nil {
		return a.kernelFailure(opGeneric, err, 1)
	}
	if !noSort {
		listing.SortServices(svcs)
	}
	w.BeginTable(info)
	for i := range svcs {
		dests, err := a.client.Destinations(ctx, svcs[i].Key())
		if err != nil {
			w.Flush()
			return a.kernelFailure(opGetDests, err, 1)
		}
		w.Service(&svcs[i], dests)
	}
	w.EndTable()
	return 0
}

// listConnectionsJSON is -L -c --json: the failures of listConnections,
// with nothing on stdout; a malformed line ends the list, which is closed
// so that the document stays valid, with status 1.
func (a *app) listConnectionsJSON(w *listing.JSONWriter) int {
	f, err := os.Open(filepath.Join(a.procRoot, ipvs.ConnProcFile))
	if err != nil {
		fmt.Fprintln(a.stderr, "cannot open file /proc/net/ip_vs_conn")
		return 1
	}
	defer f.Close()
	s, err := ipvs.NewConnScanner(f)
	if err != nil {
		fmt.Fprintln(a.stderr, "unexpected input from /proc/net/ip_vs_conn")
		return 1
	}
	w.BeginConnections()
	for s.Scan() {
		c := s.Connection()
		w.Connection(&c)
	}
	w.EndConnections()
	if s.Err() != nil {
		return 1
	}
	return 0
}
