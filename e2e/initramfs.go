package e2e

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// An Initramfs writes a cpio archive in the "newc" format the kernel unpacks
// into its initial root file system.
//
// Entries are written in the order they are added. A later entry for the same
// path replaces the earlier one in the guest, except that a directory is never
// written over an existing entry: the kernel would replace a symlink such as
// /bin -> usr/bin with an empty directory. Missing parent directories are
// added automatically, because the kernel does not create them.
type Initramfs struct {
	w     *bufio.Writer
	ino   uint32
	names map[string]fs.FileMode // type bits of every path written so far
	err   error
}

// NewInitramfs returns an Initramfs writing to w. Call Close to finish the
// archive.
func NewInitramfs(w io.Writer) *Initramfs {
	return &Initramfs{
		w:     bufio.NewWriterSize(w, 1<<20),
		ino:   1,
		names: make(map[string]fs.FileMode),
	}
}

// cleanName turns a guest path into the relative form cpio uses ("usr/bin").
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// Dir adds a directory.
func (a *Initramfs) Dir(name string, perm fs.FileMode) error {
	name = cleanName(name)
	if name == "" {
		return a.err
	}
	if _, ok := a.names[name]; ok {
		return a.err
	}
	if err := a.parents(name); err != nil {
		return err
	}
	return a.entry(name, fs.ModeDir|perm.Perm(), nil, 0)
}

// File adds a regular file with the given contents.
func (a *Initramfs) File(name string, perm fs.FileMode, data []byte) error {
	name = cleanName(name)
	if err := a.parents(name); err != nil {
		return err
	}
	return a.entry(name, perm.Perm(), strings.NewReader(string(data)), int64(len(data)))
}

// Symlink adds a symbolic link name pointing to target.
func (a *Initramfs) Symlink(name, target string) error {
	name = cleanName(name)
	if err := a.parents(name); err != nil {
		return err
	}
	return a.entry(name, fs.ModeSymlink|0o777, strings.NewReader(target), int64(len(target)))
}

// HostFile adds the host file src (a regular file; symlinks are followed) as
// name, keeping its permissions.
func (a *Initramfs) HostFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return a.fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return a.fail(err)
	}
	if !st.Mode().IsRegular() {
		return a.fail(fmt.Errorf("%s is not a regular file", src))
	}
	name = cleanName(name)
	if err := a.parents(name); err != nil {
		return err
	}
	return a.entry(name, st.Mode().Perm(), f, st.Size())
}

// Tree adds the host directory tree src below the guest directory dst.
// Directories, regular files and symlinks are copied; anything else (sockets,
// devices) is an error.
func (a *Initramfs) Tree(dst, src string) error {
	return a.fail(filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			return a.Dir(name, mode.Perm())
		case mode.IsRegular():
			return a.HostFile(name, p)
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return a.Symlink(name, target)
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, mode.Type())
		}
	}))
}

// Close writes the archive trailer and flushes. It does not close the
// underlying writer.
func (a *Initramfs) Close() error {
	if a.err != nil {
		return a.err
	}
	if err := a.header("TRAILER!!!", 0, 0, 0, 1); err != nil {
		return err
	}
	return a.fail(a.w.Flush())
}

func (a *Initramfs) fail(err error) error {
	if a.err == nil && err != nil {
		a.err = err
	}
	return err
}

// parents adds the missing directories above name.
func (a *Initramfs) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return a.err
	}
	return a.Dir(dir, 0o755)
}

func (a *Initramfs) entry(name string, mode fs.FileMode, r io.Reader, size int64) error {
	if a.err != nil {
		return a.err
	}
	if size > 0xffffffff {
		return a.fail(fmt.Errorf("%s: too large for cpio (%d bytes)", name, size))
	}
	a.names[name] = mode.Type()
	if err := a.header(name, cpioMode(mode), uint32(size), a.ino, nlink(mode)); err != nil {
		return err
	}
	a.ino++
	if size > 0 {
		n, err := io.CopyN(a.w, r, size)
		if err != nil {
			return a.fail(fmt.Errorf("%s: wrote %d of %d bytes: %w", name, n, size, err))
		}
	}
	return a.pad(size)
}

func nlink(mode fs.FileMode) uint32 {
	if mode.IsDir() {
		return 2
	}
	return 1
}

// cpioMode converts a Go file mode to the st_mode bits cpio stores.
func cpioMode(mode fs.FileMode) uint32 {
	const (
		sIFDIR = 0o040000
		sIFREG = 0o100000
		sIFLNK = 0o120000
	)
	m := uint32(mode.Perm())
	switch {
	case mode.IsDir():
		m |= sIFDIR
	case mode&fs.ModeSymlink != 0:
		m |= sIFLNK
	default:
		m |= sIFREG
	}
	return m
}

// header writes a newc header: the magic and 13 fields of 8 hex digits, then
// the NUL-terminated name, padded to a multiple of 4 bytes. Owner is root and
// the modification time 0, so archives are reproducible.
func (a *Initramfs) header(name string, mode, size, ino, nlink uint32) error {
	if a.err != nil {
		return a.err
	}
	fields := []uint32{
		ino, mode, 0 /* uid */, 0 /* gid */, nlink, 0, /* mtime */
		size, 0, 0 /* dev major, minor */, 0, 0, /* rdev major, minor */
		uint32(len(name) + 1), 0, /* checksum, unused by newc */
	}
	var b strings.Builder
	b.WriteString("070701")
	for _, f := range fields {
		fmt.Fprintf(&b, "%08x", f)
	}
	b.WriteString(name)
	b.WriteByte(0)
	if _, err := a.w.WriteString(b.String()); err != nil {
		return a.fail(err)
	}
	return a.pad(int64(b.Len()))
}

// pad writes the zero bytes that align the next record to 4 bytes.
func (a *Initramfs) pad(n int64) error {
	if rem := n % 4; rem != 0 {
		if _, err := a.w.Write(make([]byte, 4-rem)); err != nil {
			return a.fail(err)
		}
	}
	return nil
}
