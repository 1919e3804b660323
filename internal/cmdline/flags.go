package cmdline

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// annotationExtraShorthand lists further one-letter names of a flag. pflag
// allows one shorthand per flag, but ipvsadm accepts both -L and -l for
// --list.
const annotationExtraShorthand = "goipvsadm_extra_shorthand"

// annotationCommand marks the flags that name a command; only they may come
// first on the command line.
const annotationCommand = "goipvsadm_command"

// annotationExtension marks goipvsadm's own options, which ipvsadm 1.31
// does not have (see Extension).
const annotationExtension = "goipvsadm_extension"

// Flags returns ipvsadm's options, followed by goipvsadm's own (long form
// only, annotated with "goipvsadm_extension"), as a pflag.FlagSet built
// from the option registry (optionDefs): names, shorthands, values and
// help. The values in the set are never filled in by Parse; use it to
// list options (help, shell completion).
//
// A flag takes a value unless its Value.Type() is "bool". A flag with a
// non-empty NoOptDefVal takes an optional value (only --persistent).
func Flags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("ipvsadm", pflag.ContinueOnError)
	fs.SortFlags = false
	for i := range optionDefs {
		d := &optionDefs[i]
		short := ""
		if d.short != "" {
			short = d.short[:1]
		}
		if d.arg == argNone {
			fs.BoolP(d.name, short, false, d.usage)
		} else {
			fs.StringP(d.name, short, "", d.usage)
		}
		if d.arg == argOptional {
			fs.Lookup(d.name).NoOptDefVal = strconv.Itoa(defaultPersistence)
		}
		if d.kind != 0 {
			must(fs.SetAnnotation(d.name, annotationCommand, []string{"true"}))
		}
		if len(d.short) > 1 {
			must(fs.SetAnnotation(d.name, annotationExtraShorthand, strings.Split(d.short[1:], "")))
		}
	}
	for _, e := range extensions {
		fs.Bool(e.name, false, e.usage)
		must(fs.SetAnnotation(e.name, annotationExtension, []string{"true"}))
	}
	return fs
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// argKind says whether an option takes a value.
type argKind int

const (
	argNone argKind = iota
	argRequired
	argOptional
)

// optionSpec is what the popt front end needs to know about one option.
type optionSpec struct {
	*optionDef
	extension bool // one of goipvsadm's own options
}

// optionTable indexes the options by long name and by shorthand, in the
// way popt looks options up.
type optionTable struct {
	long  map[string]*optionSpec
	short map[byte]*optionSpec
}

// newOptionTable indexes the registry; without withExtensions, goipvsadm's
// own options are left out (they are unknown options, as in ipvsadm).
func newOptionTable(withExtensions bool) *optionTable {
	t := &optionTable{long: map[string]*optionSpec{}, short: map[byte]*optionSpec{}}
	add := func(spec *optionSpec) {
		t.long[spec.name] = spec
		for i := 0; i < len(spec.short); i++ {
			t.short[spec.short[i]] = spec
		}
	}
	for i := range optionDefs {
		add(&optionSpec{optionDef: &optionDefs[i]})
	}
	if withExtensions {
		for e := Extension(0); e < numExtensions; e++ {
			add(&optionSpec{optionDef: &optionDef{name: extensions[e].name, apply: func(s *state, _ string, _ *string) *Error {
				return s.setExtension(e)
			}}, extension: true})
		}
	}
	return t
}

// options and ipvsadmOptions are built once from the registry: all
// options, and ipvsadm's alone.
var (
	options        = newOptionTable(true)
	ipvsadmOptions = newOptionTable(false)
)
