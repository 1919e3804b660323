package restore

import (
	"bytes"
	"io"
	"os"
	"sync/atomic"
)

// Parsing an input in parts at once (Options.Workers): each part starts
// after a newline, where the reading of lines starts afresh, so a part
// parses as it would in the whole input but for its lines' numbers and
// where its rules keep their services, other rules and texts; join moves
// those. The first part that stops the restore (a syntax error, or a -h
// or -v line) ends the input there, as it would reading line by line.

// minPartSize is the smallest part worth a goroutine of its own.
var minPartSize int64 = 256 << 10

// splitInput returns where the parts of r start, and where it ends, when
// r is worth parsing in more than one part with workers goroutines; ra
// (nil: r cannot be read at offsets) reads r from offset start on. When
// it returns more than one part, it has moved r to its end, as reading it
// would.
func splitInput(r io.Reader, ra io.ReaderAt, start int64, workers int) []int64 {
	if workers < 2 || ra == nil {
		return nil
	}
	end, ok := inputEnd(r)
	if !ok {
		return nil
	}
	n := min(int64(workers), (end-start)/minPartSize)
	bounds := []int64{start}
	for k := int64(1); k < n; k++ {
		at, ok := lineStart(ra, start+(end-start)*k/n, end)
		if !ok {
			break
		}
		if at > bounds[len(bounds)-1] {
			bounds = append(bounds, at)
		}
	}
	if len(bounds) < 2 {
		return nil
	}
	if _, err := r.(io.Seeker).Seek(end, io.SeekStart); err != nil {
		return nil
	}
	return append(bounds, end)
}

// inputEnd returns the size of r, a regular file or another reader that
// knows its size.
func inputEnd(r io.Reader) (int64, bool) {
	switch r := r.(type) {
	case interface{ Size() int64 }:
		return r.Size(), true
	case *os.File:
		fi, err := r.Stat()
		if err != nil {
			return 0, false
		}
		return fi.Size(), true
	}
	return 0, false
}

// lineStart returns the start of the first line that starts at or after
// offset at and before end.
func lineStart(ra io.ReaderAt, at, end int64) (int64, bool) {
	buf := make([]byte, 4096)
	for pos := at - 1; pos < end; pos += int64(len(buf)) {
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if pos+int64(i)+1 < end {
				return pos + int64(i) + 1, true
			}
			return 0, false
		}
		if err != nil {
			return 0, false
		}
	}
	return 0, false
}

// part is the parsing of one part of the input.
type part struct {
	rules   *Rules
	lines   int // the lines read
	stopped bool
	err     error
	done    chan struct{}
}

// parse parses the input from offset from to offset to.
func (p *part) parse(ra io.ReaderAt, from, to int64, input io.ReaderAt, opts Options, abort *atomic.Bool) {
	defer close(p.done)
	lr := newLineReader(io.NewSectionReader(ra, from, to-from))
	lr.abort = abort
	p.rules, p.stopped, p.err = parsePart(lr, opts, input, from)
	p.lines = lr.num
}

// parseParts parses the parts of ra that bounds gives (see splitInput),
// the first on the calling goroutine, the others each on its own, and
// joins them. It returns when every part's parsing has ended.
func parseParts(ra io.ReaderAt, bounds []int64, input io.ReaderAt, opts Options) (*Rules, error) {
	parts := make([]part, len(bounds)-1)
	abort := new(atomic.Bool)
	defer func() {
		abort.Store(true) // the parts after one that stopped the input
		for q := range parts {
			<-parts[q].done
		}
	}()
	for q := range parts {
		parts[q].done = make(chan struct{})
		if q > 0 {
			go parts[q].parse(ra, bounds[q], bounds[q+1], input, opts, abort)
		}
	}
	parts[0].parse(ra, bounds[0], bounds[1], input, opts, abort)
	var rs *Rules
	lines := 0
	for q := range parts {
		p := &parts[q]
		<-p.done
		if p.err != nil {
			if se, ok := p.err.(*SyntaxError); ok {
				se.Line.Num += lines
			}
			return nil, p.err
		}
		if q == 0 {
			rs = p.rules
		} else {
			rs.join(p.rules, lines)
		}
		if p.stopped {
			break
		}
		lines += p.lines
	}
	return rs, nil
}

// join appends the rules of o, parsed from the input after the first
// lines lines, as if rs had parsed them; o is left empty.
func (rs *Rules) join(o *Rules, lines int) {
	services, others, texts := rs.nServices, int32(len(rs.others)), uint64(len(rs.texts))<<32
	for i, c := range o.services {
		for j := range c {
			rs.appendService(c[j])
		}
		o.services[i] = nil
	}
	for _, r := range o.others {
		r.Num += lines
		if r.Skipped != nil {
			r.Skipped.Line.Num += lines
		}
		rs.others = append(rs.others, r)
	}
	for i, c := range o.recs {
		for _, rec := range c {
			rec.num += int32(lines)
			if rec.kind == 0 {
				rec.at += others
			} else {
				rec.at += services
			}
			if rs.input == nil {
				rec.text += texts
			}
			rs.append(rec)
		}
		o.recs[i] = nil
	}
	rs.texts = append(rs.texts, o.texts...)
	*o = Rules{}
}
