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
// service, timeouts, daemons, the whole table), as ipvsadm's text or, with
// --json, as one JSON document. Failures exit 1, with the same messages in
// both forms.
func (a *app) list(ctx context.Context, cmd *cmdline.Command) int {
	f := cmd.Format
	var w lister
	if f.JSON {
		w = &jsonLister{JSONWriter: listing.NewJSONWriter(a.stdout, f.NoSort)}
	} else {
		w = textLister{listing.NewWriter(a.stdout, listing.Options{
			Numeric: f.Numeric, Exact: f.Exact, NoSort: f.NoSort,
			Stats: f.Stats, Rate: f.Rate, Thresholds: f.Thresholds,
			PersistentConn: f.PersistentConn, TunInfo: f.TunInfo,
		}, a.names)}
	}
	defer w.Flush()
	// Only the JSON document and the --stats and --rate tables print
	// counters: the other listings do not decode them.
	read := ipvs.SkipStats
	if f.JSON || f.Stats || f.Rate {
		read = 0
	}

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
		dests, err := a.client.Destinations(ctx, svc.Key(), read)
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
	// ipvsadm prints its version line before it fetches the services, so
	// it is there even when the dump fails.
	w.Header(info)
	svcs, err := a.client.Services(ctx, read)
	if err != nil {
		w.Flush()
		return a.kernelFailure(opGeneric, err, 1)
	}
	w.Title()
	if err := a.walkTable(ctx, svcs, f.NoSort, read, w.Entry); err != nil {
		w.Flush()
		return a.kernelFailure(opGetDests, err, 1)
	}
	w.EndTable()
	return 0
}

// listConnections prints -L -c from the kernel's connection table file as
// ipvsadm does: "cannot open file" when it cannot be opened, "unexpected
// input" when it lacks its header, otherwise the rows as they are read (a
// malformed line ends the listing with status 1 and no message).
func (a *app) listConnections(w lister) int {
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

// A lister prints the forms of -L. The calls come in the text listing's
// order; the JSON writer holds back what it cannot write yet, so that a
// failure before the table is read leaves stdout empty.
type lister interface {
	Header(ipvs.Info) // the version line, before the services are fetched
	Title()           // the column titles, once the services are read
	Entry(*ipvs.Service, []ipvs.Destination)
	EndTable()
	SingleService(*ipvs.Service, []ipvs.Destination)
	Timeouts(ipvs.Timeouts)
	Daemons([]ipvs.Daemon)
	BeginConnections()
	Connection(*ipvs.Connection)
	EndConnections()
	Flush() error
}

// textLister is ipvsadm's text.
type textLister struct{ *listing.Writer }

func (t textLister) Entry(svc *ipvs.Service, dests []ipvs.Destination) {
	t.Writer.Entry(&ipvs.ServiceEntry{Service: *svc, Destinations: dests})
}
func (t textLister) SingleService(svc *ipvs.Service, dests []ipvs.Destination) {
	t.Title()
	t.Entry(svc, dests)
}
func (t textLister) EndTable()         {}
func (t textLister) BeginConnections() { t.ConnHeader() }
func (t textLister) EndConnections()   {}

// jsonLister is goipvsadm's JSON (docs/json.md).
type jsonLister struct {
	*listing.JSONWriter
	info ipvs.Info
}

func (j *jsonLister) Header(info ipvs.Info) { j.info = info }
func (j *jsonLister) Title()                { j.BeginTable(j.info) }
func (j *jsonLister) Entry(svc *ipvs.Service, dests []ipvs.Destination) {
	j.Service(svc, dests)
}
