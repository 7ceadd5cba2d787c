package glanceimport

import (
	"bytes"
	"path"
	"strings"
)

// Compression is a compressed stream format the plugin can undo while streaming.
type Compression string

const (
	NoCompression Compression = ""
	Gzip          Compression = "gzip"
	Bzip2         Compression = "bzip2"
	Xz            Compression = "xz"
	Zstd          Compression = "zstd"
)

// sniffLen is how many leading bytes detection needs: ISO 9660 puts its signature
// at 32769 (sector 16, after the system area).
const sniffLen = 32769 + 5

// DetectCompression tells the compression of a stream from its first bytes. It
// never looks at names or headers: servers and mirrors get those wrong.
func DetectCompression(p []byte) Compression {
	switch {
	case len(p) >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08:
		return Gzip
	case len(p) >= 10 && bytes.HasPrefix(p, []byte("BZh")) && p[3] >= '1' && p[3] <= '9' &&
		(bytes.Equal(p[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || bytes.Equal(p[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})):
		// A block header (pi) or an empty stream's end marker (sqrt pi) follows "BZh<level>".
		return Bzip2
	case bytes.HasPrefix(p, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return Xz
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	}
	return NoCompression
}

// DetectDiskFormat tells the Glance disk format of image data from its first bytes:
// qcow2, vmdk, vhdx, vhd (dynamic disks start with a copy of the footer), vdi or
// iso; anything else is raw.
func DetectDiskFormat(p []byte) string {
	switch {
	case bytes.HasPrefix(p, []byte{'Q', 'F', 'I', 0xfb}):
		return "qcow2"
	case bytes.HasPrefix(p, []byte("KDMV")), bytes.HasPrefix(p, []byte("# Disk DescriptorFile")):
		return "vmdk"
	case bytes.HasPrefix(p, []byte("vhdxfile")):
		return "vhdx"
	case bytes.HasPrefix(p, []byte("conectix")):
		return "vhd"
	case len(p) >= 0x44 && bytes.Equal(p[0x40:0x44], []byte{0x7f, 0x10, 0xda, 0xbe}):
		return "vdi"
	case len(p) >= 32769+5 && bytes.Equal(p[32769:32769+5], []byte("CD001")):
		return "iso"
	}
	return "raw"
}

// imageExtensions are the file extensions of image files, with the disk format each
// implies (.img is raw by convention, though cloud images often hold qcow2).
var imageExtensions = map[string]string{
	".qcow2": "qcow2", ".qcow": "qcow2", ".raw": "raw", ".img": "raw", ".vmdk": "vmdk",
	".vhd": "vhd", ".vhdx": "vhdx", ".iso": "iso", ".vdi": "vdi",
}

var compressedExtensions = []string{".gz", ".bz2", ".xz", ".zst", ".zstd"}

// FormatFromName guesses a disk format from a file name or URL path, ignoring a
// trailing compression extension. ok is false when the name says nothing.
func FormatFromName(name string) (format string, ok bool) {
	name = strings.ToLower(path.Base(name))
	for _, ext := range compressedExtensions {
		name = strings.TrimSuffix(name, ext)
	}
	format, ok = imageExtensions[path.Ext(name)]
	return format, ok
}

// IsImageFileName reports whether a file name looks like a disk image
// (.qcow2, .raw, .img, ..., optionally compressed).
func IsImageFileName(name string) bool {
	_, ok := FormatFromName(name)
	return ok
}
