package cmdgen

import (
	"slices"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// -R input. A rules file is written against the table it will meet: most
// files hold only lines that ipvsadm and the kernel take, so that the
// restore runs to its end; some hold one line that fails (a mistake that
// stops the restore, or a change the kernel refuses) at a random place.

// badFileShare is the share of rules files with one line that fails.
const badFileShare = 0.15

// table is what a rules file changes: the services and their real
// servers, in a fixed order (so that a seed gives the same files).
type table struct {
	services []ipvs.ServiceKey
	dests    map[ipvs.ServiceKey][]ipvs.DestinationKey
}

func newTable(entries []ipvs.ServiceEntry) *table {
	m := &table{dests: map[ipvs.ServiceKey][]ipvs.DestinationKey{}}
	for _, e := range entries {
		k := e.Service.Key()
		m.services = append(m.services, k)
		for _, d := range e.Destinations {
			m.dests[k] = append(m.dests[k], d.Key())
		}
	}
	return m
}

func (m *table) has(k ipvs.ServiceKey) bool { return slices.Contains(m.services, k) }

// TableRules returns -R input that builds a starting table from nothing:
// up to a dozen services and real servers from the generator's pools.
func (g *Gen) TableRules() string {
	saved := g.mutate
	g.mutate = 0
	defer func() { g.mutate = saved }()
	m := newTable(nil)
	var b strings.Builder
	for n := g.r.IntN(13); n > 0; n-- {
		cmd := cmdAddService
		if len(m.services) > 0 && g.chance(0.6) {
			cmd = cmdAddServer
		}
		if l, ok := g.change(m, cmd); ok {
			b.WriteString(strings.Join(l.render(g), " ") + "\n")
		}
	}
	return b.String()
}

// Rules returns the text of one -R input for a kernel holding now: table
// changes, listings, blank lines and ipvsadm's odd tokens that all apply,
// and in some files one line that fails.
func (g *Gen) Rules(now []ipvs.ServiceEntry) string {
	saved := g.mutate
	g.mutate = 0
	defer func() { g.mutate = saved }()
	m := newTable(now)
	var b strings.Builder
	n, bad := g.r.IntN(16), -1
	if n > 0 && g.chance(badFileShare) {
		bad = g.r.IntN(n)
	}
	for i := 0; i < n; i++ {
		if i == bad {
			b.WriteString(g.failingLine(m))
		} else {
			b.WriteString(g.rulesLine(m))
		}
		b.WriteString(pick(g, []string{"\n", "\n", "\n", "\n", "\n", "\n", "\r\n", " \n", "\t\n"}))
	}
	text := b.String()
	if n > 0 && g.chance(0.1) {
		// The last line without its newline, sometimes ending in blanks
		// (ipvsadm drops such a line if it ends in two or more).
		text = strings.TrimRight(text, "\r\n") + pick(g, []string{"", " ", "  ", "\t\t"})
	}
	return text
}

// rulesLine is one line of rules input that applies to m (and changes m
// as it changes the kernel's table).
func (g *Gen) rulesLine(m *table) string {
	var words []string
	switch x := g.r.Float64(); {
	case x < 0.04:
		return pick(g, []string{"", "   ", "\t", "ipvsadm", "ipvsadm ipvsadm"})
	case x < 0.13:
		words = g.listing(m).render(g)
	case x < 0.14:
		m.services, m.dests = nil, map[ipvs.ServiceKey][]ipvs.DestinationKey{}
		words = g.lineFor(cmdFlush, target{}).render(g)
	case x < 0.15:
		words = g.lineFor(cmdSet, target{}).render(g)
	default:
		cmd := pick(g, []command{cmdAddService, cmdAddService, cmdEditService, cmdDeleteService,
			cmdAddServer, cmdAddServer, cmdAddServer, cmdEditServer, cmdDeleteServer})
		l, ok := g.change(m, cmd)
		if !ok {
			l, _ = g.change(m, cmdAddService)
		}
		words = l.render(g)
	}
	if g.chance(0.05) {
		words = append([]string{"ipvsadm"}, words...)
	}
	return strings.Join(words, " ")
}

// failingLine is a line that fails on m: a mistake (which ends the
// restore), a change the kernel refuses, or one of ipvsadm's odd tokens.
func (g *Gen) failingLine(m *table) string {
	switch g.r.IntN(4) {
	case 0:
		return pick(g, []string{"# a comment", "#", "/sbin/ipvsadm -C", "-R", "-h", "-v", "-A", "-a -t"})
	case 1:
		return g.refusedChange(m)
	}
	g.mutate = 0.5
	defer func() { g.mutate = 0 }()
	cmd := pick(g, []command{cmdAddService, cmdEditService, cmdDeleteService, cmdAddServer, cmdEditServer,
		cmdDeleteServer, cmdSet, cmdList, cmdZero})
	return strings.Join(g.commandLine(cmd).render(g), " ")
}

// refusedChange is a change the kernel refuses: a service or real server
// added twice, or one changed or deleted that is not there.
func (g *Gen) refusedChange(m *table) string {
	var l line
	svc := g.poolService()
	switch {
	case len(m.services) > 0 && g.chance(0.5):
		l = g.lineFor(cmdAddService, target{svc: pick(g, m.services)})
	case !m.has(svc):
		cmd := pick(g, []command{cmdEditService, cmdDeleteService, cmdAddServer, cmdDeleteServer})
		t := target{svc: svc, dest: g.poolDest(svc, optMasq)}
		if cmd.opt == cmdAddServer.opt {
			t.fwd = optMasq
		}
		l = g.lineFor(cmd, t)
	default:
		return "-d -t 10.0.0.99:1 -r 10.0.0.98:1"
	}
	return strings.Join(l.render(g), " ")
}

// change is a line of cmd (-A, -E, -D, -a, -e or -d) that applies to m,
// applied to m; false if m has nothing cmd could apply to.
func (g *Gen) change(m *table, cmd command) (line, bool) {
	t, ok := g.changeTarget(m, cmd)
	if !ok {
		return line{}, false
	}
	switch cmd.opt {
	case cmdAddService.opt:
		m.services = append(m.services, t.svc)
	case cmdDeleteService.opt:
		m.services = slices.DeleteFunc(m.services, func(k ipvs.ServiceKey) bool { return k == t.svc })
		delete(m.dests, t.svc)
	case cmdAddServer.opt:
		m.dests[t.svc] = append(m.dests[t.svc], t.dest)
	case cmdDeleteServer.opt:
		m.dests[t.svc] = slices.DeleteFunc(m.dests[t.svc], func(d ipvs.DestinationKey) bool { return d == t.dest })
	}
	return g.lineFor(cmd, t), true
}

// changeTarget picks what cmd names so that it applies to m (a line of
// any other command names a service of m).
func (g *Gen) changeTarget(m *table, cmd command) (target, bool) {
	if cmd.opt == cmdAddService.opt {
		for try := 0; try < 10; try++ {
			if k := g.poolService(); !m.has(k) {
				return target{svc: k}, true
			}
		}
		return target{}, false
	}
	if len(m.services) == 0 {
		return target{}, false
	}
	t := target{svc: pick(g, m.services)}
	dests := m.dests[t.svc]
	switch cmd.opt {
	case cmdAddServer.opt:
		t.fwd = pick(g, []option{{}, optMasq, optMasq, optGate, optIPIP})
		for try := 0; try < 10; try++ {
			if t.dest = g.poolDest(t.svc, t.fwd); !slices.Contains(dests, t.dest) {
				return t, true
			}
		}
		return target{}, false
	case cmdEditServer.opt, cmdDeleteServer.opt:
		if len(dests) == 0 {
			return target{}, false
		}
		t.dest = pick(g, dests)
		t.fwd = pick(g, []option{{}, optMasq, optGate, optIPIP})
		if t.svc.FWMark == 0 && t.dest.Port != t.svc.Port {
			t.fwd = optMasq // the others take the service's port
		}
		if t.dest.Addr.Is6() != (t.svc.Family == ipvs.IPv6) {
			t.fwd = optIPIP // only tunnels cross families
		}
		if cmd.opt == cmdDeleteServer.opt {
			t.fwd = option{}
		}
	}
	return t, true
}

// listing is a -L, -S or -Z line that applies to m: at most one format,
// --timeout and --daemon alone, a service only one that exists.
func (g *Gen) listing(m *table) line {
	var svc []item
	if len(m.services) > 0 && g.chance(0.3) {
		svc = g.serviceItems(target{svc: pick(g, m.services)})
	}
	switch g.r.IntN(5) {
	case 0:
		return g.lineFor(cmdSave, target{})
	case 1:
		return line{items: append([]item{{opt: cmdZero.opt}}, svc...)}
	case 2:
		return line{items: []item{{opt: cmdList.opt}, {opt: pick(g, []option{optTimeout, optDaemon})}}}
	}
	l := line{items: append([]item{{opt: cmdList.opt}}, svc...)}
	for _, o := range []option{optNumeric, optExact, optNosort, optSort} {
		if g.chance(0.3) {
			l.items = append(l.items, item{opt: o})
		}
	}
	if g.chance(0.5) {
		l.items = append(l.items, item{opt: pick(g, []option{optStats, optRate, optThresholds, optPConn, optTunInfo})})
	}
	g.r.Shuffle(len(l.items)-1, func(i, j int) { l.items[i+1], l.items[j+1] = l.items[j+1], l.items[i+1] })
	return l
}
