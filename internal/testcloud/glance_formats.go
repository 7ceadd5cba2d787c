package testcloud

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
)

// gzipMagic starts every gzip stream (deflate method), as Glance's image_decompression plugin checks it.
var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// decompressImported mirrors Glance's image_decompression import plugin: imported data that starts
// with the gzip magic is replaced by its decompressed bytes, unless the image's container_format is
// "compressed". h describes the data as it is; the result describes the data as stored. An empty path
// means the data was discarded: h then carries the hashes of the decompressed stream, taken as the
// data came in. (Glance's plugin also unpacks zip and lha archives; the test cloud handles gzip only.)
func decompressImported(path, containerFormat string, h hashedData) (hashedData, error) {
	if containerFormat == "compressed" || !bytes.HasPrefix(h.head, gzipMagic) {
		return h, nil
	}
	if path == "" {
		if h.unpacked == nil {
			return h, fmt.Errorf("decompress imported data: the discarded data was not hashed decompressed")
		}
		return *h.unpacked, h.unpackErr
	}
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return h, fmt.Errorf("decompress imported data: %w", err)
	}
	out := path + ".uc"
	nh, err := streamToFile(out, zr)
	if err != nil {
		return h, fmt.Errorf("decompress imported data: %w", err)
	}
	if err := os.Rename(out, path); err != nil {
		_ = os.Remove(out)
		return h, fmt.Errorf("decompress imported data: %w", err)
	}
	return nh, nil
}

// qcow2HeaderLen is how much of a qcow2 file Glance's format inspector needs before it trusts the header.
const qcow2HeaderLen = 512

// inspectVirtualSize computes virtual_size the way Glance 25's in-flight format inspector does when
// data is stored: only for container_format bare; raw is its own size; qcow2 reads the header's size
// field when the magic matches. head is the start of the data. Anything else, or data that does not
// match its disk_format, gives 0 (virtual_size stays null). Other formats Glance inspects (vhd, vhdx,
// vmdk, vdi, qed) are not emulated.
func inspectVirtualSize(head []byte, diskFormat, containerFormat string, size int64) int64 {
	if containerFormat != "bare" {
		return 0
	}
	switch diskFormat {
	case "raw":
		return max(size, 0)
	case "qcow2":
		if len(head) < qcow2HeaderLen || !bytes.Equal(head[:4], []byte("QFI\xfb")) {
			return 0
		}
		return int64(binary.BigEndian.Uint64(head[24:32]))
	}
	return 0
}
