package testcloud

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// rootRel maps a path seen by the guest to a name inside an os.Root. Relative paths are relative to
// root's home (/root), as in a real login shell. os.Root refuses anything that escapes the disk,
// symlinks included.
func rootRel(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/root/" + p
	}
	rel := strings.TrimPrefix(path.Clean(p), "/")
	if rel == "" {
		return "."
	}
	return rel
}

// runSCP implements the remote half of OpenSSH's scp protocol: -t (sink, upload) and -f (source,
// download), with -r, -d, -p and -v, confined to the disk.
func runSCP(disk string, args []string, rw io.ReadWriter, stderr io.Writer) int {
	var sink, source, recursive bool
	var target string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && target == "" {
			for _, f := range a[1:] {
				switch f {
				case 't':
					sink = true
				case 'f':
					source = true
				case 'r':
					recursive = true
				}
			}
			continue
		}
		target = a
	}
	if target == "" || sink == source {
		fmt.Fprintln(stderr, "scp: usage: scp [-r] -t|-f path")
		return 1
	}
	root, err := os.OpenRoot(disk)
	if err != nil {
		fmt.Fprintf(stderr, "scp: %v\n", err)
		return 1
	}
	defer root.Close()
	br := bufio.NewReader(rw)
	if sink {
		err = scpSink(root, rootRel(target), br, rw)
	} else {
		err = scpSource(root, rootRel(target), recursive, br, rw)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scp: %v\n", err)
		_, _ = fmt.Fprintf(rw, "\x01scp: %v\n", err)
		return 1
	}
	return 0
}

func scpSink(root *os.Root, target string, br *bufio.Reader, w io.Writer) error {
	ok := func() error { _, err := w.Write([]byte{0}); return err }
	if err := ok(); err != nil {
		return err
	}
	isDir := func(p string) bool { st, err := root.Stat(p); return err == nil && st.IsDir() }
	stack := []string{}
	dest := func(name string) string {
		if len(stack) > 0 {
			return path.Join(stack[len(stack)-1], name)
		}
		if isDir(target) {
			return path.Join(target, name)
		}
		return target
	}
	for {
		line, err := br.ReadString('\n')
		if errors.Is(err, io.EOF) && line == "" {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read scp header: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		switch line[0] {
		case 'C', 'D':
			fields := strings.SplitN(line[1:], " ", 3)
			if len(fields) != 3 || strings.Contains(fields[2], "/") || fields[2] == ".." {
				return fmt.Errorf("bad scp header %q", line)
			}
			mode, err1 := strconv.ParseUint(fields[0], 8, 32)
			size, err2 := strconv.ParseInt(fields[1], 10, 64)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("bad scp header %q", line)
			}
			p := dest(fields[2])
			if line[0] == 'D' {
				if err := root.Mkdir(p, fs.FileMode(mode)); err != nil && !errors.Is(err, fs.ErrExist) {
					return err
				}
				stack = append(stack, p)
				if err := ok(); err != nil {
					return err
				}
				continue
			}
			f, err := root.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(mode))
			if err != nil {
				return err
			}
			if err := ok(); err != nil {
				f.Close()
				return err
			}
			_, err = io.CopyN(f, br, size)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", p, err)
			}
			_ = root.Chmod(p, fs.FileMode(mode))
			if b, err := br.ReadByte(); err != nil || b != 0 {
				return fmt.Errorf("scp: missing end-of-file marker for %s", p)
			}
			if err := ok(); err != nil {
				return err
			}
		case 'E':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if err := ok(); err != nil {
				return err
			}
		case 'T':
			if err := ok(); err != nil {
				return err
			}
		case 1, 2:
			return fmt.Errorf("client error: %s", line[1:])
		default:
			return fmt.Errorf("bad scp header %q", line)
		}
	}
}

func readAck(br *bufio.Reader) error {
	b, err := br.ReadByte()
	if err != nil {
		return err
	}
	if b != 0 {
		msg, _ := br.ReadString('\n')
		return fmt.Errorf("client refused: %s", strings.TrimSpace(msg))
	}
	return nil
}

func scpSource(root *os.Root, p string, recursive bool, br *bufio.Reader, w io.Writer) error {
	if err := readAck(br); err != nil {
		return err
	}
	return scpSend(root, p, recursive, br, w)
}

func scpSend(root *os.Root, p string, recursive bool, br *bufio.Reader, w io.Writer) error {
	st, err := root.Stat(p)
	if err != nil {
		return err
	}
	name := path.Base(p)
	if st.IsDir() {
		if !recursive {
			return fmt.Errorf("%s: not a regular file", p)
		}
		if _, err := fmt.Fprintf(w, "D%04o 0 %s\n", st.Mode().Perm(), name); err != nil {
			return err
		}
		if err := readAck(br); err != nil {
			return err
		}
		d, err := root.Open(p)
		if err != nil {
			return err
		}
		entries, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink != 0 {
				continue
			}
			if err := scpSend(root, path.Join(p, e.Name()), true, br, w); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "E\n"); err != nil {
			return err
		}
		return readAck(br)
	}
	f, err := root.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(w, "C%04o %d %s\n", st.Mode().Perm(), st.Size(), name); err != nil {
		return err
	}
	if err := readAck(br); err != nil {
		return err
	}
	if _, err := io.CopyN(w, f, st.Size()); err != nil {
		return err
	}
	if _, err := w.Write([]byte{0}); err != nil {
		return err
	}
	return readAck(br)
}

// rootFS serves SFTP requests from an os.Root, so a client can never leave the server's disk.
type rootFS struct{ root *os.Root }

func confinedSFTPHandlers(root *os.Root) sftp.Handlers {
	fsys := &rootFS{root: root}
	return sftp.Handlers{FileGet: fsys, FilePut: fsys, FileCmd: fsys, FileList: fsys}
}

func sftpRel(p string) string {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		return "."
	}
	return rel
}

func (r *rootFS) Fileread(req *sftp.Request) (io.ReaderAt, error) {
	return r.root.Open(sftpRel(req.Filepath))
}

func (r *rootFS) Filewrite(req *sftp.Request) (io.WriterAt, error) {
	flags := req.Pflags()
	mode := os.O_WRONLY
	if flags.Read {
		mode = os.O_RDWR
	}
	if flags.Creat {
		mode |= os.O_CREATE
	}
	if flags.Trunc {
		mode |= os.O_TRUNC
	}
	if flags.Excl {
		mode |= os.O_EXCL
	}
	return r.root.OpenFile(sftpRel(req.Filepath), mode, 0o644)
}

func (r *rootFS) Filecmd(req *sftp.Request) error {
	p := sftpRel(req.Filepath)
	switch req.Method {
	case "Setstat":
		attrs, flags := req.Attributes(), req.AttrFlags()
		if flags.Permissions {
			if err := r.root.Chmod(p, fs.FileMode(attrs.Mode).Perm()); err != nil {
				return err
			}
		}
		if flags.Acmodtime {
			if err := r.root.Chtimes(p, time.Unix(int64(attrs.Atime), 0), time.Unix(int64(attrs.Mtime), 0)); err != nil {
				return err
			}
		}
		if flags.Size {
			f, err := r.root.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(int64(attrs.Size))
		}
		return nil
	case "Rename":
		return r.root.Rename(p, sftpRel(req.Target))
	case "Rmdir", "Remove":
		return r.root.Remove(p)
	case "Mkdir":
		return r.root.Mkdir(p, 0o755)
	case "Symlink":
		// Request.Filepath is the link target and Target the new link, per the sftp package.
		return r.root.Symlink(req.Filepath, sftpRel(req.Target))
	case "Link":
		return r.root.Link(p, sftpRel(req.Target))
	}
	return sftp.ErrSSHFxOpUnsupported
}

type fileInfos []fs.FileInfo

func (l fileInfos) ListAt(out []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}

func (r *rootFS) Filelist(req *sftp.Request) (sftp.ListerAt, error) {
	p := sftpRel(req.Filepath)
	switch req.Method {
	case "List":
		d, err := r.root.Open(p)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		entries, err := d.ReadDir(-1)
		if err != nil {
			return nil, err
		}
		var out fileInfos
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				out = append(out, info)
			}
		}
		return out, nil
	case "Stat":
		st, err := r.root.Stat(p)
		if err != nil {
			return nil, err
		}
		return fileInfos{st}, nil
	case "Lstat":
		st, err := r.root.Lstat(p)
		if err != nil {
			return nil, err
		}
		return fileInfos{st}, nil
	case "Readlink":
		target, err := r.root.Readlink(p)
		if err != nil {
			return nil, err
		}
		return fileInfos{linkInfo(target)}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// linkInfo carries a readlink result in the Name field, as the sftp package expects.
type linkInfo string

func (l linkInfo) Name() string       { return string(l) }
func (l linkInfo) Size() int64        { return 0 }
func (l linkInfo) Mode() fs.FileMode  { return fs.ModeSymlink }
func (l linkInfo) ModTime() time.Time { return time.Time{} }
func (l linkInfo) IsDir() bool        { return false }
func (l linkInfo) Sys() any           { return nil }
