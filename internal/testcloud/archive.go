package testcloud

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// A server disk is a folder. Its image form is an uncompressed POSIX tar of that folder with entries
// relative to the root ("./etc/hostname" style names without the leading "./"). Readers also accept
// gzip-compressed tars, so a user may upload a .tar.gz as image data.

// writeDiskArchive writes dir as a tar stream to w.
func writeDiskArchive(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, devices and fifos do not belong in an image
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	return tw.Close()
}

// archiveReader returns a tar reader over r, transparently un-gzipping.
func archiveReader(r io.Reader) (*tar.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		return tar.NewReader(gz), nil
	}
	return tar.NewReader(br), nil
}

// extractDiskArchive unpacks an archive into dir, refusing entries that would escape it.
func extractDiskArchive(r io.Reader, dir string) error {
	tr, err := archiveReader(r)
	if err != nil {
		return err
	}
	n := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if n == 0 {
				return fmt.Errorf("not a disk archive: %w", err)
			}
			return fmt.Errorf("read disk archive: %w", err)
		}
		n++
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode).Perm() | fs.FileMode(hdr.Mode)&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			_ = os.Chmod(target, mode|0o700)
		case tar.TypeSymlink:
			_ = os.Remove(target)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			src := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+hdr.Linkname)))
			_ = os.Remove(target)
			if err := os.Link(src, target); err != nil {
				return err
			}
		case tar.TypeReg:
			_ = os.Remove(target)
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			_ = os.Chmod(target, mode)
		}
	}
	if n == 0 {
		return errors.New("not a disk archive: no entries")
	}
	return nil
}

// readFileFromArchive returns the content of one regular file of a disk archive.
func readFileFromArchive(r io.Reader, name string) ([]byte, error) {
	want := strings.TrimPrefix(path.Clean("/"+name), "/")
	tr, err := archiveReader(r)
	if err != nil {
		return nil, err
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		if err != nil {
			return nil, fmt.Errorf("read disk archive: %w", err)
		}
		if strings.TrimPrefix(path.Clean("/"+hdr.Name), "/") == want && hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}
