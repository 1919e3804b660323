package restore

import (
	"io"
	"iter"
	"os"
	"slices"
	"sort"

	"github.com/goipvsadm/goipvsadm/internal/compact"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/reconcile"
)

// Rules are parsed rules input in a compact form: what Parse returns, for
// inputs of a million lines. A destination line takes 64 bytes and its
// text (none with Options.Reread), where a Rule takes about 600; the rules
// hold few pointers, so the garbage collector hardly has to look at them.
type Rules struct {
	// recs holds the records in chunks of recChunk: growing one slice
	// would copy it and hold both copies for a moment.
	recs [][]record
	n    int
	// texts holds the lines' texts, one after the other, in chunks that
	// never move (a chunk is a string once it is full); or, when input
	// is not nil, the texts are read from it again (Options.Reread).
	texts []string
	chunk []byte
	input io.ReaderAt
	// services holds the services of the rules' table changes, in
	// chunks of recChunk: each -A and -E line's own, and one per key for
	// the other lines.
	services  [][]compact.Service
	nServices int32
	// keys indexes services by key, the last of each key; it is built
	// when a line first names a service other than the last one, which
	// the lines -S writes never do.
	keys map[ipvs.ServiceKey]int32
	// last is the service named last (-1: none), whose key is lastKey:
	// the next line often names it too.
	last    int32
	lastKey ipvs.ServiceKey
	// others holds the rules that have no compact form: commands that
	// do not change the table, skipped lines, timeouts.
	others []Rule
	// saved is what addSaved reads each line into.
	saved savedLine
}

// record is one rule: its line, and its change or where it is kept.
type record struct {
	// text is where the line's text is: its offset in Rules.input, or
	// its chunk (high 32 bits) and offset in it.
	text    uint64
	textLen uint32
	num     int32
	kind    ipvs.OpKind // 0: the rule is others[at]
	at      int32       // services or others
	dest    destSpec
}

// destSpec is an ipvs.Destination's writable fields without pointers.
type destSpec struct {
	addr     compact.Addr
	fwd      uint8
	tunType  ipvs.TunnelType
	port     uint16
	tunPort  uint16
	tunFlags ipvs.TunnelFlags
	weight   uint32
	upper    uint32
	lower    uint32
}

func specOf(d ipvs.Destination) destSpec {
	return destSpec{
		addr: compact.AddrOf(d.Addr), fwd: uint8(d.ForwardMethod), tunType: d.TunnelType,
		port: d.Port, tunPort: d.TunnelPort, tunFlags: d.TunnelFlags,
		weight: d.Weight, upper: d.UpperThreshold, lower: d.LowerThreshold,
	}
}

func (s *destSpec) destination() ipvs.Destination {
	return ipvs.Destination{
		Addr: s.addr.Addr(), Port: s.port, ForwardMethod: ipvs.ForwardMethod(s.fwd),
		Weight: s.weight, UpperThreshold: s.upper, LowerThreshold: s.lower,
		TunnelType: s.tunType, TunnelPort: s.tunPort, TunnelFlags: s.tunFlags,
	}
}

// textChunkSize is the size of the chunks the lines' texts are kept in.
const textChunkSize = 1 << 20

// recChunk is how many records a chunk of Rules.recs holds.
const recChunk = 1 << 12

// ParseRules parses ipvsadm -R input as Parse does, into the compact
// Rules. Errors are Parse's. The lines in the forms ipvsadm -S writes
// nearly all of a table in are read without the general parser, with the
// same result, several times faster. With Options.Workers, a big input
// that can be read at any offset is parsed in parts at once (see
// Options.Workers); it is then read to its end.
func ParseRules(r io.Reader, opts Options) (*Rules, error) {
	ra, start := rereadable(r)
	var input io.ReaderAt
	if opts.Reread {
		input = ra
	}
	if bounds := splitInput(r, ra, start, opts.Workers); len(bounds) > 2 {
		return parseParts(ra, bounds, input, opts)
	}
	rs, _, err := parsePart(newLineReader(r), opts, input, start)
	return rs, err
}

// parsePart parses what lr reads, which starts at offset start of the
// input, into Rules that read their texts from input (nil: keep them).
// stopped is parseEach's.
func parsePart(lr *lineReader, opts Options, input io.ReaderAt, start int64) (rs *Rules, stopped bool, err error) {
	rs = &Rules{input: input, last: -1}
	lr.take = func(raw []byte, num int, at int64) bool { return rs.addSaved(raw, num, start+at) }
	stopped, err = parseEach(lr, opts, func(r *Rule, at int64) { rs.add(r, start+at) })
	if err != nil {
		return nil, false, err
	}
	if len(rs.chunk) > 0 {
		rs.texts = append(rs.texts, string(rs.chunk))
	}
	rs.chunk, rs.keys = nil, nil
	return rs, stopped, nil
}

// rereadable returns r as an io.ReaderAt, and where reading it starts,
// if r can be read again for the lines' texts (see Options.Reread).
func rereadable(r io.Reader) (io.ReaderAt, int64) {
	ra, ok := r.(io.ReaderAt)
	sk, ok2 := r.(io.Seeker)
	if !ok || !ok2 {
		return nil, 0
	}
	if f, ok := r.(*os.File); ok {
		// A pipe or a terminal is an *os.File too.
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return nil, 0
		}
	}
	start, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0
	}
	return ra, start
}

// add appends a copy of r, whose line starts at offset at of the input.
func (rs *Rules) add(r *Rule, at int64) {
	rec := record{num: int32(r.Num), textLen: uint32(len(r.Text)), text: uint64(at)}
	if rs.input == nil {
		rec.text = keepText(rs, r.Text)
	}
	if !rs.compact(r, &rec) {
		rec.kind, rec.at = 0, int32(len(rs.others))
		o := *r
		o.Args = nil
		if r.Op.Kind == 0 {
			o.Args = slices.Clone(r.Args)
		}
		rs.others = append(rs.others, o)
	}
	rs.append(rec)
}

// addSaved appends the rule of a line that readSavedLine reads, whose
// number is num and which starts at offset at of the input; false if it
// does not read it.
func (rs *Rules) addSaved(raw []byte, num int, at int64) bool {
	l := &rs.saved
	if !readSavedLine(raw, l) {
		return false
	}
	text := raw[:len(raw)-1]
	rec := rs.next()
	rec.num, rec.textLen, rec.text, rec.kind = int32(num), uint32(len(text)), uint64(at), l.kind
	if rs.input == nil {
		rec.text = keepText(rs, text)
	}
	if l.kind == ipvs.OpCreateService {
		rec.at = rs.newService(l.svc)
	} else {
		rec.at = rs.serviceOf(l.key)
		rec.dest = l.dest
	}
	return true
}

// append appends rec to the records.
func (rs *Rules) append(rec record) { *rs.next() = rec }

// next appends a zero record and returns it, for the caller to fill in
// place (a record is 64 bytes, and a restore reads a million).
func (rs *Rules) next() *record {
	if rs.n%recChunk == 0 {
		rs.recs = append(rs.recs, make([]record, 0, recChunk))
	}
	last := &rs.recs[len(rs.recs)-1]
	*last = (*last)[:len(*last)+1] // the chunk's new records are zero
	rs.n++
	return &(*last)[len(*last)-1]
}

func (rs *Rules) rec(i int) *record { return &rs.recs[i/recChunk][i%recChunk] }

// keepText copies a line's text into rs's chunks and returns where it is.
func keepText[T string | []byte](rs *Rules, text T) uint64 {
	if len(text) > cap(rs.chunk)-len(rs.chunk) {
		if len(rs.chunk) > 0 {
			rs.texts = append(rs.texts, string(rs.chunk))
			rs.chunk = rs.chunk[:0]
		}
		if len(text) > textChunkSize {
			// A chunk of its own.
			rs.texts = append(rs.texts, string(text))
			return uint64(len(rs.texts)-1) << 32
		}
		if rs.chunk == nil {
			rs.chunk = make([]byte, 0, textChunkSize)
		}
	}
	start := uint64(len(rs.chunk))
	rs.chunk = append(rs.chunk, text...)
	return uint64(len(rs.texts))<<32 | start
}

// compact stores r's change in rec, if it has a compact form that gives
// back exactly r.
func (rs *Rules) compact(r *Rule, rec *record) bool {
	op := r.Op
	if r.Skipped != nil || r.Flush || op.Kind == 0 || op.Kind == ipvs.OpSetTimeouts {
		return false
	}
	rec.kind = op.Kind
	switch op.Kind {
	case ipvs.OpCreateService, ipvs.OpUpdateService:
		rec.at = rs.newService(op.Service)
	default:
		rec.at = rs.serviceOf(op.Service.Key())
		rec.dest = specOf(op.Destination)
	}
	if rs.op(rec) != op {
		rec.dest = destSpec{}
		return false
	}
	return true
}

// newService adds the service of an -A or -E line and returns its index.
func (rs *Rules) newService(svc ipvs.Service) int32 {
	k := svc.Key()
	at := rs.addService(compact.ServiceOf(svc), k)
	rs.last, rs.lastKey = at, k
	return at
}

// serviceOf returns the index of a service with key k, adding the service
// of the key alone (what the change of a line that names a service but
// does not set it holds) if there is none.
func (rs *Rules) serviceOf(k ipvs.ServiceKey) int32 {
	if rs.last >= 0 && rs.lastKey == k {
		return rs.last
	}
	if rs.keys == nil {
		rs.keys = make(map[ipvs.ServiceKey]int32)
		for at := range rs.nServices {
			rs.keys[rs.service(at).Key()] = at
		}
	}
	at, ok := rs.keys[k]
	if !ok {
		at = rs.addService(compact.ServiceOf(ipvs.DeleteService(k).Service), k)
	}
	rs.last, rs.lastKey = at, k
	return at
}

// addService appends s, whose key is k, to the services.
func (rs *Rules) addService(s compact.Service, k ipvs.ServiceKey) int32 {
	at := rs.appendService(s)
	if rs.keys != nil {
		rs.keys[k] = at
	}
	return at
}

// appendService appends s to the services and returns its index.
func (rs *Rules) appendService(s compact.Service) int32 {
	at := rs.nServices
	if at%recChunk == 0 {
		rs.services = append(rs.services, make([]compact.Service, 0, recChunk))
	}
	last := &rs.services[len(rs.services)-1]
	*last = append(*last, s)
	rs.nServices++
	return at
}

// service returns the service at index at.
func (rs *Rules) service(at int32) *compact.Service {
	return &rs.services[at/recChunk][at%recChunk]
}

// op returns the change of a compact record.
func (rs *Rules) op(rec *record) ipvs.Op {
	var o ipvs.Op
	rs.writeOp(rec, rs.service(rec.at).Key(), &o)
	return o
}

// writeOp stores the change of rec, which is in compact form and whose
// service has the key k, in *o.
func (rs *Rules) writeOp(rec *record, k ipvs.ServiceKey, o *ipvs.Op) {
	switch rec.kind {
	case ipvs.OpCreateService:
		*o = ipvs.CreateService(rs.service(rec.at).Service())
	case ipvs.OpUpdateService:
		*o = ipvs.UpdateService(rs.service(rec.at).Service())
	case ipvs.OpDeleteService:
		*o = ipvs.DeleteService(k)
	case ipvs.OpCreateDestination:
		*o = ipvs.CreateDestination(k, rec.dest.destination())
	case ipvs.OpUpdateDestination:
		*o = ipvs.UpdateDestination(k, rec.dest.destination())
	case ipvs.OpDeleteDestination:
		*o = ipvs.DeleteDestination(k, rec.dest.destination().Key())
	default:
		*o = ipvs.Op{}
	}
}

// step returns the change of rec, which has one, as a plan's step.
func (rs *Rules) step(rec *record) reconcile.Step {
	if rec.kind == 0 {
		o := &rs.others[rec.at]
		return reconcile.Step{Op: o.Op, Line: o.Num}
	}
	return reconcile.Step{Op: rs.op(rec), Line: int(rec.num)}
}

// Len returns the number of rules.
func (rs *Rules) Len() int { return rs.n }

// rule returns the rule of rec, its text read with tr (nil: without its
// text).
func (rs *Rules) rule(rec *record, tr *textReader) Rule {
	if rec.kind == 0 {
		return rs.others[rec.at]
	}
	return Rule{Line: Line{Num: int(rec.num), Text: tr.text(rec)}, Op: rs.op(rec)}
}

// All returns the rules in input order. Only a rule without an Op has
// Args: a change is all in its Op.
func (rs *Rules) All() iter.Seq[Rule] {
	return func(yield func(Rule) bool) {
		tr := &textReader{rs: rs}
		for _, c := range rs.recs {
			for i := range c {
				if !yield(rs.rule(&c[i], tr)) {
					return
				}
			}
		}
	}
}

// A textReader gives the texts of records: from the chunks, or read again
// from the input a window at a time (the texts of the rules in order are
// one read).
type textReader struct {
	rs     *Rules
	window string // the input from at
	at     int64
}

// textWindow is how much of the input a textReader reads at once.
const textWindow = 1 << 20

// text returns rec's text; "" if the input cannot give it back.
func (tr *textReader) text(rec *record) string {
	if tr == nil {
		return ""
	}
	n := int64(rec.textLen)
	if tr.rs.input == nil {
		return tr.rs.texts[rec.text>>32][uint32(rec.text):][:n]
	}
	at := int64(rec.text)
	if at < tr.at || at+n > tr.at+int64(len(tr.window)) {
		// A new window each time: the texts given out keep theirs.
		buf := make([]byte, max(n, textWindow))
		got, err := tr.rs.input.ReadAt(buf, at)
		if got < len(buf) && err != io.EOF {
			got = 0
		}
		tr.window, tr.at = string(buf[:got]), at
		if int64(got) < n {
			return ""
		}
	}
	return tr.window[at-tr.at:][:n]
}

// indexed is All with each rule's index, without the lines' texts
// (Line gives a rule's whole line). The rule it yields is one variable,
// rewritten for each record; a record's change is written as a rules
// run writes it (ruleRun.WriteOp, which computes a service's key once
// for its records in a row).
func (rs *Rules) indexed() iter.Seq2[int, *Rule] {
	return func(yield func(int, *Rule) bool) {
		var r Rule
		run := ruleRun{rs: rs, n: rs.n}
		for i := range rs.n {
			if rec := rs.rec(i); rec.kind == 0 {
				r = rs.others[rec.at]
			} else {
				r.Line, r.Flush, r.Skipped = Line{Num: int(rec.num)}, false, nil
				run.WriteOp(i, &r.Op)
			}
			if !yield(i, &r) {
				return
			}
		}
	}
}

// Line returns the line numbered num.
func (rs *Rules) Line(num int) (Line, bool) {
	i := sort.Search(rs.n, func(i int) bool { return int(rs.rec(i).num) >= num })
	if i == rs.n || int(rs.rec(i).num) != num {
		return Line{}, false
	}
	return rs.rule(rs.rec(i), &textReader{rs: rs}).Line, true
}
