package main

// kernelCost (-op kernelcost) times the kernel's side of listing: the same
// requests in several shapes, on plain blocking sockets, so the cost of a
// destination dump can be split into the generic netlink round trip, the
// dump machinery and the size of the kernel's dump buffers (which grows
// with the largest buffer a socket has read with).

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

type costCase struct {
	name string
	buf  int  // user-space receive buffer: the kernel sizes dump batches from it
	dump bool // destination dumps, else GET_SERVICE per service
}

func kernelCost() error {
	s, family, err := openIPVS()
	if err != nil {
		return err
	}
	keys, err := s.serviceKeys(family)
	unix.Close(s.fd)
	if err != nil {
		return err
	}
	cases := []costCase{
		{"GET_INFO, 64 KiB buffer", 64 << 10, false},
		{"GET_SERVICE, 64 KiB buffer", 64 << 10, false},
		{"GET_DEST dump, 64 KiB buffer", 64 << 10, true},
		{"GET_DEST dump, 4 KiB buffer", 4 << 10, true},
		{"GET_DEST dump, 16 KiB buffer", 16 << 10, true},
		{"GET_DEST dump, 7.5 KiB buffer", 7680, true},
		{"GET_SERVICE, 4 KiB buffer", 4 << 10, false},
	}
	// The service dump: its batches hold as much as the buffer, and each
	// batch walks the table from its start.
	for round := range 2 {
		for _, size := range []int{64 << 10, 7680, 4 << 10} {
			s, err := newRawSock()
			if err != nil {
				return err
			}
			s.buf = make([]byte, size)
			start := time.Now()
			keys, err := s.serviceKeys(family)
			unix.Close(s.fd)
			if err != nil {
				return err
			}
			fmt.Printf("kernelcost: round %d service dump, %5d-byte buffer: %d services in %.3fs\n", round+1, size, len(keys), time.Since(start).Seconds())
		}
	}
	for round := range 2 {
		for i, c := range cases {
			s, err := newRawSock()
			if err != nil {
				return err
			}
			s.buf = make([]byte, c.buf)
			var before, after unix.Rusage
			unix.Getrusage(unix.RUSAGE_SELF, &before)
			start := time.Now()
			for _, k := range keys {
				switch {
				case i == 0:
					err = s.send(family, unix.NLM_F_REQUEST, 15, 1, nil) // IPVS_CMD_GET_INFO
					if err == nil {
						err = s.receive(false, func([]byte) {})
					}
				case c.dump:
					err = s.send(family, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, 8, 1, k)
					if err == nil {
						err = s.receive(true, func([]byte) {})
					}
				default:
					err = s.send(family, unix.NLM_F_REQUEST, 4, 1, k)
					if err == nil {
						err = s.receive(false, func([]byte) {})
					}
				}
				if err != nil {
					unix.Close(s.fd)
					return fmt.Errorf("%s: %w", c.name, err)
				}
			}
			wall := time.Since(start)
			unix.Getrusage(unix.RUSAGE_SELF, &after)
			unix.Close(s.fd)
			n := float64(len(keys))
			fmt.Printf("kernelcost: round %d %-32s %6.1f µs/request (user %5.1f, sys %6.1f)\n", round+1, c.name,
				float64(wall.Microseconds())/n, usec(after.Utime, before.Utime)/n, usec(after.Stime, before.Stime)/n)
		}
	}
	return nil
}

func usec(a, b unix.Timeval) float64 {
	return float64((a.Sec-b.Sec)*1e6 + (a.Usec - b.Usec))
}
