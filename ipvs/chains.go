package ipvs

import "encoding/binary"

// The kernel finds a service by its key in one of two hash tables of 256
// chains (address services, firewall-mark services; ip_vs_ctl.c), and
// every request that names a service looks it up, walking the whole chain
// when it creates one. With 100,000 services a chain holds about 390, so
// a lookup reads 390 services spread over memory. Ops in chain order find
// the chain the previous op walked still in the CPU's caches, which makes
// a big restore several times cheaper for the kernel (bench/README.md).

// serviceChains is how many chains chain can name: both tables' 256.
const serviceChains = 512

// chain returns which of the kernel's service hash chains holds the
// service of k, up to a permutation of each table's chains. The kernel
// mixes the address of the network namespace's IPVS state into the hash
// (ip_vs_svc_hashkey, ip_vs_svc_fwm_hashkey) by XOR, which moves every
// key of a chain to the same other chain: keys with equal chains here
// share a chain there.
func (k ServiceKey) chain() int {
	if k.FWMark != 0 {
		return 256 + int(k.FWMark&0xff)
	}
	var fold uint32
	if k.Family == IPv6 {
		a := k.Addr.As16()
		fold = binary.BigEndian.Uint32(a[0:]) ^ binary.BigEndian.Uint32(a[4:]) ^
			binary.BigEndian.Uint32(a[8:]) ^ binary.BigEndian.Uint32(a[12:])
	} else if k.Addr.Is4() {
		a := k.Addr.As4()
		fold = binary.BigEndian.Uint32(a[:])
	}
	p := uint32(k.Port)
	return int((uint32(k.Protocol) ^ fold ^ p>>8 ^ p) & 0xff)
}

// minChainOrder is the fewest ops worth sorting into chain order.
const minChainOrder = 64

// chainOrder sorts the ops at idx by the chain of the service each names,
// keeping the order of those on one chain (so of all those on one
// service); an op that names no service (timeouts) stays where it is, the
// ops before it sorted apart from those after. The table after the ops is
// the same as after them in order: ops on different services do not
// depend on each other. The order goes into out, which it returns.
func chainOrder(ops []Op, idx, out []int) []int {
	out = out[:0]
	var count [serviceChains + 1]int
	chains := make([]uint16, len(idx))
	for from := 0; from < len(idx); {
		end := from
		for end < len(idx) && ops[idx[end]].Kind != OpSetTimeouts {
			end++
		}
		clear(count[:])
		for j := from; j < end; j++ {
			k := ops[idx[j]].Service.key()
			chains[j] = uint16(k.chain())
			count[chains[j]+1]++
		}
		for c := 1; c <= serviceChains; c++ {
			count[c] += count[c-1]
		}
		base := len(out)
		out = out[:base+end-from]
		for j := from; j < end; j++ {
			c := chains[j]
			out[base+count[c]] = idx[j]
			count[c]++
		}
		if end < len(idx) {
			out = append(out, idx[end])
			end++
		}
		from = end
	}
	return out
}
