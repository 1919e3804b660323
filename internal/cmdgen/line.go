package cmdgen

import (
	"slices"
	"strconv"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// item is one option of a command line with its value, or a bare word.
type item struct {
	opt      option
	value    string
	hasValue bool
	word     string // a bare word (opt unused)
}

// line is a command line before it is rendered into words.
type line struct {
	items []item
}

// commandLine builds a command line for cmd: what the option table asks
// for, with some of what it allows, naming services and real servers from
// the pools, and now and then a mistake.
func (g *Gen) commandLine(cmd command) line {
	return g.lineFor(cmd, g.randomTarget(cmd))
}

// randomTarget picks what a line names from the pools, now and then a
// value past an edge.
func (g *Gen) randomTarget(cmd command) target {
	t := target{svc: g.poolService()}
	if g.chance(g.mutate) {
		if t.svc.FWMark != 0 {
			t.svcText = g.valueOf(fwmark, true)
		} else {
			t.svcText = g.valueOf(serviceAddr, true)
		}
	}
	if cmd.opt == cmdAddServer.opt || cmd.opt == cmdEditServer.opt {
		t.fwd = pick(g, []option{{}, optMasq, optMasq, optGate, optIPIP})
	}
	t.dest = g.poolDest(t.svc, t.fwd)
	if g.chance(g.mutate) {
		t.destText = g.valueOf(realServer, true)
	}
	return t
}

// lineFor builds cmd's line naming t.
func (g *Gen) lineFor(cmd command, t target) line {
	var l line
	l.items = append(l.items, g.withValue(cmd.opt))
	if cmd.service && !g.chance(g.mutate/3) {
		l.items = append(l.items, g.serviceItems(t)...)
	}
	if len(cmd.required) > 0 && !g.chance(g.mutate/3) {
		l.items = append(l.items, g.destItem(t, cmd.opt != cmdDeleteServer.opt))
	}
	if t.fwd != (option{}) {
		l.items = append(l.items, item{opt: t.fwd})
		if t.fwd == optIPIP && g.chance(0.6) {
			l.items = append(l.items, g.tunnel()...)
		}
	}
	g.optionalItems(cmd, t, &l)
	for i := 0; i < cmd.positional; i++ {
		l.items = append(l.items, item{word: g.timeout(false)})
	}
	if cmd.positional > 0 && g.chance(g.mutate) {
		l.items = l.items[:len(l.items)-1-g.r.IntN(2)]
	}
	if cmd.opt == cmdList.opt && g.chance(0.3) {
		// One of -c, a service, --timeout, --daemon (or, by mistake, two).
		for n := 1 + b2i(g.chance(g.mutate)); n > 0; n-- {
			switch g.r.IntN(4) {
			case 0:
				l.items = append(l.items, item{opt: optConn})
			case 1:
				l.items = append(l.items, g.serviceItems(t)...)
			case 2:
				l.items = append(l.items, item{opt: optTimeout})
			default:
				l.items = append(l.items, item{opt: optDaemon})
			}
		}
	}
	g.mistakes(&l)
	g.shuffle(&l)
	return l
}

// optionalItems adds some of what cmd allows, as the options go together
// (unless by mistake): scheduler flags of the scheduler, an IPv6 netmask
// as a prefix length, -o only for UDP and marks, a lower threshold not
// above the upper one, -p for a service without a port.
func (g *Gen) optionalItems(cmd command, t target, l *line) {
	if len(cmd.optional) == 0 {
		return
	}
	p := min(0.3, 1.5/float64(len(cmd.optional)))
	sched, upper, persistent := "wlc", 0, false
	for _, o := range cmd.optional {
		if !g.chance(p) {
			continue
		}
		it, odd := g.withValue(o), g.chance(g.mutate)
		switch o {
		case optScheduler:
			sched = it.value
		case optSchedFlags:
			it.value = g.schedFlags(sched, odd)
		case optNetmask:
			if t.svc.Family == ipvs.IPv6 && !odd {
				it.value = strconv.Itoa(1 + g.r.IntN(128))
			}
		case optOps:
			if t.svc.FWMark == 0 && t.svc.Protocol != ipvs.UDP && !odd {
				continue
			}
		case optUThresh:
			upper, _ = strconv.Atoi(it.value)
			upper = max(upper, 0)
		case optLThresh:
			if !odd {
				it.value = strconv.Itoa(g.r.IntN(upper + 1))
			}
		case optPersistent:
			persistent = true
		}
		l.items = append(l.items, it)
	}
	portless := t.svcText == "" && t.svc.FWMark == 0 && t.svc.Port == 0
	if (cmd.opt == cmdAddService.opt || cmd.opt == cmdEditService.opt) && portless && !persistent && !g.chance(g.mutate) {
		l.items = append(l.items, g.withValue(optPersistent))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mistakes adds what the option table forbids, with g.mutate's chance
// for each kind.
func (g *Gen) mistakes(l *line) {
	if g.chance(g.mutate) {
		l.items = append(l.items, g.withValue(pick(g, allOptions)))
	}
	if g.chance(g.mutate / 2) {
		l.items = append(l.items, g.withValue(pick(g, allOptions)), g.withValue(pick(g, allOptions)))
	}
	if len(l.items) > 1 && g.chance(g.mutate/2) {
		l.items = append(l.items, l.items[1+g.r.IntN(len(l.items)-1)]) // the same option twice
	}
	if g.chance(g.mutate / 3) {
		l.items = append(l.items, g.withValue(pick(g, allCommands).opt))
	}
	if g.chance(g.mutate / 3) {
		l.items = append(l.items, item{word: pick(g, []string{"foo", "80", "", "-", "master", "ipvsadm"})})
	}
	if g.chance(g.mutate / 3) {
		l.items = append(l.items, item{word: pick(g, unknownOptions)})
	}
	if g.chance(g.mutate / 4) {
		l.items = append(l.items, item{opt: pick(g, []option{optIPv6, optSort})})
	}
}

// shuffle moves options around: popt takes them in any order after the
// command, and words or even options before it.
func (g *Gen) shuffle(l *line) {
	rest := l.items[1:]
	if g.chance(0.3) {
		g.r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		if !g.chance(g.mutate) {
			keepAfter(rest, optIPv6, optFWMark) // -6 only works after -f
		}
	}
	if len(rest) > 0 && g.chance(g.mutate/4) {
		i := g.r.IntN(len(rest))
		l.items[0], rest[i] = rest[i], l.items[0] // the command not first
	}
}

// keepAfter swaps the first a and the first b if a comes first.
func keepAfter(items []item, a, b option) {
	ia := slices.IndexFunc(items, func(it item) bool { return it.opt == a })
	ib := slices.IndexFunc(items, func(it item) bool { return it.opt == b })
	if ia >= 0 && ib > ia {
		items[ia], items[ib] = items[ib], items[ia]
	}
}

// withValue returns o with a value if it takes one.
func (g *Gen) withValue(o option) item {
	it := item{opt: o}
	switch o.value {
	case noValue:
	case optionalTimeout:
		if g.chance(0.6) {
			it.value, it.hasValue = g.timeout(true), true
		}
	default:
		it.value, it.hasValue = g.value(o.value), true
	}
	return it
}

// render writes the line as argv words, each option in one of the forms
// popt accepts, short options without values sometimes clustered.
func (l line) render(g *Gen) []string {
	var words []string
	cluster := "" // pending short options without values: "-Ln"
	flush := func() {
		if cluster != "" {
			words = append(words, cluster)
			cluster = ""
		}
	}
	for _, it := range l.items {
		if it.opt.long == "" {
			flush()
			words = append(words, it.word)
			continue
		}
		short := it.opt.short
		if it.opt == cmdList.opt && g.chance(0.1) {
			short = "l"
		}
		useShort := short != "" && g.chance(0.75)
		switch {
		case useShort && !it.hasValue && it.opt.value != optionalTimeout:
			if cluster != "" && g.chance(0.5) {
				cluster += short
				continue
			}
			flush()
			cluster = "-" + short
			continue
		case useShort:
			form := g.r.IntN(6)
			if cluster != "" && form == 0 && it.value != "" {
				// A value option ends a cluster: -Lnt10.0.0.1:80 (popt
				// takes the rest of the word as the value).
				words = append(words, cluster+short+it.value)
				cluster = ""
				continue
			}
			flush()
			switch {
			case !it.hasValue:
				words = append(words, "-"+short)
			case form == 1:
				words = append(words, "-"+short+it.value)
			case form == 2:
				words = append(words, "-"+short+"="+it.value)
			default:
				words = append(words, "-"+short, it.value)
			}
		default:
			flush()
			switch {
			case !it.hasValue:
				words = append(words, "--"+it.opt.long)
			case g.chance(0.3):
				words = append(words, "--"+it.opt.long+"="+it.value)
			default:
				words = append(words, "--"+it.opt.long, it.value)
			}
		}
	}
	flush()
	return words
}

// tunnel returns a tunnelling real server's options (besides -i) as they
// go together.
func (g *Gen) tunnel() []item {
	var items []item
	switch g.r.IntN(3) {
	case 0:
		items = append(items, item{opt: optTunType, value: "ipip", hasValue: true})
	case 1:
		items = append(items, item{opt: optTunType, value: "gue", hasValue: true}, g.withValue(optTunPort))
		if g.chance(0.6) {
			items = append(items, item{opt: pick(g, []option{optTunNocsum, optTunCsum, optTunRemcsum})})
		}
	default:
		items = append(items, item{opt: optTunType, value: "gre", hasValue: true})
		if g.chance(0.6) {
			items = append(items, item{opt: pick(g, []option{optTunNocsum, optTunCsum})})
		}
	}
	return items
}
