//go:build e2e

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// zygoteLib is e2e/zygote/zygote.c as build-payload.sh builds it for the
// guest: an LD_PRELOAD library that makes ipvsadm a fork server.
const zygoteLib = "/usr/local/lib/goipvsadm-e2e/ipvsadm-zygote.so"

// zygote runs a dynamically linked program many times cheaply: one process
// loaded once forks a child per run, which starts main with the run's
// arguments (see zygote.c). Each child is the program before main, so a
// run through it is a fresh run.
type zygote struct {
	cmd       *exec.Cmd
	req, resp *os.File
	dir       string
}

func startZygote(bin, dir string) (*zygote, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:       bin,
		Args:       []string{"ipvsadm"},
		Env:        append(os.Environ(), "LD_PRELOAD="+zygoteLib, "ZYGOTE_DIR="+dir),
		ExtraFiles: []*os.File{reqR, respW}, // fd 3 and 4
		Stderr:     os.Stderr,
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	reqR.Close()
	respW.Close()
	return &zygote{cmd: cmd, req: reqW, resp: respR, dir: dir}, nil
}

// run runs argv (argv[0] included) with stdin; a run that takes longer
// than limit is killed and reported as an error.
func (z *zygote) run(argv []string, stdin string, limit time.Duration) (result, error) {
	if err := os.WriteFile(filepath.Join(z.dir, "in"), []byte(stdin), 0o600); err != nil {
		return result{}, err
	}
	msg := binary.NativeEndian.AppendUint32(nil, uint32(len(argv)))
	for _, a := range argv {
		msg = binary.NativeEndian.AppendUint32(msg, uint32(len(a)))
		msg = append(msg, a...)
	}
	if _, err := z.req.Write(msg); err != nil {
		return result{}, err
	}
	var buf [4]byte
	if _, err := io.ReadFull(z.resp, buf[:]); err != nil {
		return result{}, fmt.Errorf("zygote: %v", err)
	}
	pid := int(int32(binary.NativeEndian.Uint32(buf[:])))
	z.resp.SetReadDeadline(time.Now().Add(limit))
	_, err := io.ReadFull(z.resp, buf[:])
	z.resp.SetReadDeadline(time.Time{})
	if err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		if _, err := io.ReadFull(z.resp, buf[:]); err != nil {
			return result{}, fmt.Errorf("zygote: %v", err)
		}
		return result{}, fmt.Errorf("%q did not finish in %v", argv, limit)
	}
	ws := syscall.WaitStatus(binary.NativeEndian.Uint32(buf[:]))
	out, err := os.ReadFile(filepath.Join(z.dir, "out"))
	if err != nil {
		return result{}, err
	}
	errb, err := os.ReadFile(filepath.Join(z.dir, "err"))
	if err != nil {
		return result{}, err
	}
	r := result{stdout: string(out), stderr: string(errb), exit: ws.ExitStatus()}
	if ws.Signaled() {
		r.exit = 128 + int(ws.Signal()) // as a shell reports it
	}
	return r, nil
}

func (z *zygote) close() {
	z.req.Close()
	z.cmd.Wait()
	z.resp.Close()
}
