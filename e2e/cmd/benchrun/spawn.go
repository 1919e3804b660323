package main

// Peak RSS needs care. Go starts commands with vfork (CLONE_VM), so the
// child shares its parent's memory until it execs, and the kernel then
// counts the parent's high-water RSS into the child's ru_maxrss. Run from
// benchrun, which holds outputs of several MiB, every command would seem to
// use at least as much. So commands are started by a spawner: benchrun
// itself re-executed with -spawn, a small process that does nothing else.
// Its own RSS, the floor below which no command can be measured, is
// reported (the maxrss of /bin/true).
//
// Each spawner can live in a network namespace of its own (CLONE_NEWNET,
// with lo up), which the commands it starts share: a fresh spawner per
// timed run gives every run an empty IPVS table with no history, since
// the kernel keeps deleted destinations in a per-namespace trash list
// that every destination add scans.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A spawnRequest asks the spawner to run one command.
type spawnRequest struct {
	Path   string
	Args   []string // with argv[0]
	Stdin  string   // file name
	Stdout string   // file name, truncated
}

// A spawnReply is what the spawner measured.
type spawnReply struct {
	Run
	Err    string // the command did not start, or failed
	Stderr string
}

// Run is one timed command.
type Run struct {
	Wall   time.Duration
	User   time.Duration
	Sys    time.Duration
	MaxRSS int64 // KiB
	// Context switches: voluntary (blocking, e.g. a Go thread parking)
	// and involuntary (preempted).
	VolCS, InvolCS int64
}

// spawner is the parent's end of the spawner process.
type spawner struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startSpawner starts a spawner, in a new network namespace if netns.
func startSpawner(netns bool) (*spawner, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-spawn")
	if netns {
		cmd.Args = append(cmd.Args, "-spawn-netns")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	return &spawner{cmd: cmd, in: in, out: sc}, nil
}

// run runs one command in the spawner.
func (s *spawner) run(req spawnRequest) (spawnReply, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return spawnReply{}, err
	}
	if _, err := s.in.Write(append(data, '\n')); err != nil {
		return spawnReply{}, fmt.Errorf("spawner: %w", err)
	}
	if !s.out.Scan() {
		return spawnReply{}, fmt.Errorf("spawner: no reply: %v", s.out.Err())
	}
	var rep spawnReply
	err = json.Unmarshal(s.out.Bytes(), &rep)
	return rep, err
}

func (s *spawner) close() {
	s.in.Close()
	s.cmd.Wait()
}

// spawnMain is the spawner: one JSON request per line on stdin, one reply
// per line on stdout. With netns, it is alone in a new network namespace,
// whose lo it brings up first.
func spawnMain(netns bool) {
	if netns {
		if err := loopbackUp(); err != nil {
			fatal(fmt.Errorf("lo up: %w", err))
		}
	}
	// Keep the heap, and so the floor, small and steady.
	debug.SetGCPercent(5)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		var req spawnRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			fatal(err)
		}
		if err := enc.Encode(spawnOne(req)); err != nil {
			fatal(err)
		}
	}
}

// loopbackUp sets lo up, as "ip link set lo up" does.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

func spawnOne(req spawnRequest) spawnReply {
	var rep spawnReply
	in, err := os.Open(req.Stdin)
	if err != nil {
		rep.Err = err.Error()
		return rep
	}
	defer in.Close()
	out, err := os.Create(req.Stdout)
	if err != nil {
		rep.Err = err.Error()
		return rep
	}
	defer out.Close()
	var stderr strings.Builder
	cmd := &exec.Cmd{Path: req.Path, Args: req.Args, Stdin: in, Stdout: out, Stderr: &stderr}
	start := time.Now()
	err = cmd.Run()
	rep.Wall = time.Since(start)
	rep.Stderr = stderr.String()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		rep.Err = err.Error()
		return rep
	}
	if err != nil {
		rep.Err = err.Error()
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rep.User = time.Duration(ru.Utime.Nano())
		rep.Sys = time.Duration(ru.Stime.Nano())
		rep.MaxRSS = ru.Maxrss
		rep.VolCS, rep.InvolCS = ru.Nvcsw, ru.Nivcsw
	}
	return rep
}
