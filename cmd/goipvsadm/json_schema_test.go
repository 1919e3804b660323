package main

// The schema of docs/json.md as checks: every member present, in the
// documented order, of its documented type, with its documented values.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// jsonObject is a JSON object with its members in order.
type jsonObject struct {
	keys []string
	vals map[string]any
}

// decodeOrdered reads one value: nil, bool, json.Number, string, []any or
// *jsonObject.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &jsonObject{vals: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k.(string)]; dup {
				return nil, fmt.Errorf("member %q twice", k)
			}
			o.keys = append(o.keys, k.(string))
			o.vals[k.(string)] = v
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return tok, nil
}

// checkJSON checks one listing document against the schema.
func checkJSON(doc string) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("more than one document")
	}
	o, ok := v.(*jsonObject)
	if !ok || len(o.keys) == 0 {
		return fmt.Errorf("not an object: %v", v)
	}
	switch o.keys[0] {
	case "version":
		return checkMembers(o, "table", tableSchema)
	case "service":
		return checkMembers(o, "document", members{{"service", checkService}})
	case "connections":
		return checkMembers(o, "document", members{{"connections", arrayOf(objectOf("connection", connectionSchema))}})
	case "timeouts":
		return checkMembers(o, "document", members{{"timeouts", objectOf("timeouts", members{
			{"tcp", uintBits(32)}, {"tcpfin", uintBits(32)}, {"udp", uintBits(32)}})}})
	case "daemons":
		return checkMembers(o, "document", members{{"daemons", checkDaemons}})
	}
	return fmt.Errorf("unknown document %q", o.keys[0])
}

// members are an object's members in order, each with its check.
type members []struct {
	name  string
	check func(any) error
}

func checkMembers(o *jsonObject, what string, m members) error {
	names := make([]string, len(m))
	for i, f := range m {
		names[i] = f.name
	}
	if !slices.Equal(o.keys, names) {
		return fmt.Errorf("%s has members %q, want %q", what, o.keys, names)
	}
	for _, f := range m {
		if err := f.check(o.vals[f.name]); err != nil {
			return fmt.Errorf("%s.%s: %w", what, f.name, err)
		}
	}
	return nil
}

func objectOf(what string, m members) func(any) error {
	return func(v any) error {
		o, ok := v.(*jsonObject)
		if !ok {
			return fmt.Errorf("%v is not an object", v)
		}
		return checkMembers(o, what, m)
	}
}

func arrayOf(elem func(any) error) func(any) error {
	return func(v any) error {
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%v is not an array", v)
		}
		for i, e := range a {
			if err := elem(e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
}

func orNull(check func(any) error) func(any) error {
	return func(v any) error {
		if v == nil {
			return nil
		}
		return check(v)
	}
}

// uintBits accepts a JSON integer from 0 to 2^bits-1.
func uintBits(bits int) func(any) error {
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%v is not a number", v)
		}
		u, err := strconv.ParseUint(n.String(), 10, 64)
		if err != nil || (bits < 64 && u > math.MaxUint64>>(64-bits)) {
			return fmt.Errorf("%s is not an integer of %d bits", n, bits)
		}
		return nil
	}
}

func isString(v any) error {
	if _, ok := v.(string); !ok {
		return fmt.Errorf("%v is not a string", v)
	}
	return nil
}

func isBool(v any) error {
	if _, ok := v.(bool); !ok {
		return fmt.Errorf("%v is not a boolean", v)
	}
	return nil
}

// oneOf accepts the given strings, or a string matching re if re is set.
func oneOf(re *regexp.Regexp, words ...string) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok || !(slices.Contains(words, s) || re != nil && re.MatchString(s)) {
			return fmt.Errorf("%v is not one of %q", v, words)
		}
		return nil
	}
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// address accepts an address in canonical text form.
func address(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%v is not a string", v)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.String() != s || a.Zone() != "" {
		return fmt.Errorf("%q is not an address in canonical form", s)
	}
	return nil
}

var (
	statsSchema = members{{"conns", uintBits(64)}, {"inpkts", uintBits(64)}, {"outpkts", uintBits(64)},
		{"inbytes", uintBits(64)}, {"outbytes", uintBits(64)}}
	ratesSchema = members{{"cps", uintBits(64)}, {"inpps", uintBits(64)}, {"outpps", uintBits(64)},
		{"inbps", uintBits(64)}, {"outbps", uintBits(64)}}
	tableSchema = members{
		{"version", func(v any) error {
			if s, ok := v.(string); !ok || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(s) {
				return fmt.Errorf("%v is not a version", v)
			}
			return nil
		}},
		{"conn_table_size", uintBits(32)},
		{"services", arrayOf(checkService)},
	}
	destinationSchema = members{
		{"family", oneOf(nil, "IPv4", "IPv6")}, {"address", address}, {"port", uintBits(16)},
		{"forward", oneOf(digits, "masq", "route", "tunnel", "local")}, {"weight", uintBits(32)},
		{"upper_threshold", uintBits(32)}, {"lower_threshold", uintBits(32)}, {"active_conns", uintBits(32)},
		{"inactive_conns", uintBits(32)}, {"persistent_conns", uintBits(32)},
		{"tunnel", orNull(objectOf("tunnel", members{{"type", oneOf(nil, "ipip", "gue", "gre")},
			{"port", uintBits(16)}, {"csum", oneOf(nil, "nocsum", "csum", "remcsum")}}))},
		{"stats", objectOf("stats", statsSchema)}, {"rates", objectOf("rates", ratesSchema)},
	}
	endpoint         = objectOf("endpoint", members{{"address", address}, {"port", uintBits(16)}})
	connectionSchema = members{
		{"protocol", oneOf(regexp.MustCompile(`^IP_\d+$`), "TCP", "UDP", "SCTP", "ICMP", "ICMPv6")},
		{"client", endpoint}, {"virtual", endpoint}, {"destination", endpoint},
		{"state", isString}, {"expires", uintBits(32)}, {"pe_name", isString}, {"pe_data", isString},
	}
	daemonSchema = members{{"state", oneOf(nil, "master", "backup")}, {"mcast_interface", isString},
		{"syncid", uintBits(32)}, {"sync_maxlen", uintBits(16)}, {"mcast_group", orNull(address)},
		{"mcast_port", uintBits(16)}, {"mcast_ttl", uintBits(8)}}
)

// checkService checks a service object and what its members say about
// each other.
func checkService(v any) error {
	schema := members{
		{"family", oneOf(nil, "IPv4", "IPv6")}, {"protocol", orNull(oneOf(digits, "TCP", "UDP", "SCTP"))},
		{"address", orNull(address)}, {"port", orNull(uintBits(16))}, {"fwmark", uintBits(32)},
		{"scheduler", isString}, {"flags", uintBits(32)}, {"persistent", isBool}, {"one_packet", isBool},
		{"sched_flags", arrayOf(oneOf(nil, "flag-1", "flag-2", "flag-3", "sh-fallback", "sh-port", "mh-fallback", "mh-port"))},
		{"timeout", uintBits(32)}, {"netmask", address}, {"pe", isString},
		{"stats", objectOf("stats", statsSchema)}, {"rates", objectOf("rates", ratesSchema)},
		{"destinations", arrayOf(objectOf("destination", destinationSchema))},
	}
	o, ok := v.(*jsonObject)
	if !ok {
		return fmt.Errorf("%v is not an object", v)
	}
	if err := checkMembers(o, "service", schema); err != nil {
		return err
	}
	return checkServiceConsistent(o.vals)
}

func checkServiceConsistent(m map[string]any) error {
	fwmark := m["fwmark"].(json.Number).String() != "0"
	if fwmark != (m["protocol"] == nil) || fwmark != (m["address"] == nil) || fwmark != (m["port"] == nil) {
		return fmt.Errorf("fwmark %v with protocol %v, address %v, port %v", m["fwmark"], m["protocol"], m["address"], m["port"])
	}
	family := m["family"].(string)
	for _, k := range []string{"address", "netmask"} {
		if s, ok := m[k].(string); ok && (netip.MustParseAddr(s).Is4() != (family == "IPv4")) {
			return fmt.Errorf("%s %s is not an %s address", k, s, family)
		}
	}
	flags, _ := strconv.ParseUint(m["flags"].(json.Number).String(), 10, 32)
	if m["persistent"] != (flags&1 != 0) || m["one_packet"] != (flags&4 != 0) {
		return fmt.Errorf("flags %d with persistent %v and one_packet %v", flags, m["persistent"], m["one_packet"])
	}
	want := 0
	for _, bit := range []uint64{8, 16, 32} {
		if flags&bit != 0 {
			want++
		}
	}
	if got := len(m["sched_flags"].([]any)); got != want {
		return fmt.Errorf("flags %d with sched_flags %v", flags, m["sched_flags"])
	}
	for _, d := range m["destinations"].([]any) {
		dm := d.(*jsonObject).vals
		if (dm["forward"] == "tunnel") != (dm["tunnel"] != nil) {
			return fmt.Errorf("destination forward %v with tunnel %v", dm["forward"], dm["tunnel"])
		}
		if a := netip.MustParseAddr(dm["address"].(string)); a.Is4() != (dm["family"] == "IPv4") {
			return fmt.Errorf("destination address %s of family %v", a, dm["family"])
		}
	}
	return nil
}

// checkDaemons checks the daemon list: master first, each state once.
func checkDaemons(v any) error {
	if err := arrayOf(objectOf("daemon", daemonSchema))(v); err != nil {
		return err
	}
	var states []string
	for _, d := range v.([]any) {
		states = append(states, d.(*jsonObject).vals["state"].(string))
	}
	if !slices.Contains([]string{"", "master", "backup", "master,backup"}, strings.Join(states, ",")) {
		return fmt.Errorf("daemons in the order %q", states)
	}
	return nil
}

// TestJSONSchemaChecks: the checks accept a listing of every kind of
// service and refuse each way of breaking the schema.
func TestJSONSchemaChecks(t *testing.T) {
	f := newFakeRun(t)
	f.run([]string{"-R"}, fuzzTable)
	good := f.run([]string{"-L", "--json"}, "").stdout
	if err := checkJSON(good); err != nil {
		t.Fatalf("the listing of a valid table: %v\n%s", err, good)
	}
	for _, bad := range []struct{ from, to string }{
		{`"family":"IPv4","protocol":"TCP"`, `"protocol":"TCP","family":"IPv4"`}, // order
		{`"pe":"",`, ``},                                  // a member missing
		{`"pe":""`, `"pe":"","extra":1`},                  // a member too many
		{`"family":"IPv4"`, `"family":"ipv4"`},            // not a documented value
		{`"persistent":false`, `"persistent":true`},       // disagrees with flags
		{`"port":80`, `"port":65536`},                     // out of range
		{`"weight":1`, `"weight":-1`},                     // not unsigned
		{`"tunnel":null`, `"tunnel":{}`},                  // wrong members
		{`"netmask":"255.255.255.255"`, `"netmask":"::"`}, // wrong family
		{`"address":"10.0.0.2"`, `"address":"10.0.0.02"`}, // not canonical
	} {
		doc := strings.Replace(good, bad.from, bad.to, 1)
		if doc == good {
			t.Fatalf("%q is not in the listing", bad.from)
		}
		if err := checkJSON(doc); err == nil {
			t.Errorf("accepted %q instead of %q", bad.to, bad.from)
		}
	}
}
