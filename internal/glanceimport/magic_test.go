package glanceimport

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func TestDetectCompressionOfRealStreams(t *testing.T) {
	plain := fakeQcow2(200 << 10)
	for _, mode := range []string{"tools", "pure-go"} {
		for _, c := range []Compression{Gzip, Bzip2, Xz, Zstd} {
			t.Run(mode+"/"+string(c), func(t *testing.T) {
				if mode == "pure-go" {
					t.Setenv(NoToolsEnv, "1")
				}
				packed := compress(t, c, plain)
				if got := DetectCompression(packed[:min(len(packed), sniffLen)]); got != c {
					t.Fatalf("DetectCompression = %q, want %q", got, c)
				}
				dec, err := newDecompressor(context.Background(), c, bytes.NewReader(packed))
				if err != nil {
					t.Fatal(err)
				}
				defer dec.Close()
				out, err := io.ReadAll(dec)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, plain) {
					t.Fatalf("decompressed %d bytes differ from the %d original bytes", len(out), len(plain))
				}
				// A stream cut in the middle must fail, not end quietly.
				dec2, err := newDecompressor(context.Background(), c, bytes.NewReader(packed[:len(packed)/2]))
				if err == nil {
					defer dec2.Close()
					_, err = io.ReadAll(dec2)
				}
				if err == nil {
					t.Fatal("a truncated stream decoded without error")
				}
			})
		}
	}
}

func TestDetectCompressionLeavesImagesAlone(t *testing.T) {
	iso := make([]byte, sniffLen)
	copy(iso[32769:], "CD001")
	cases := map[string][]byte{
		"qcow2":        fakeQcow2(4096),
		"raw zeros":    make([]byte, 4096),
		"iso":          iso,
		"empty":        nil,
		"short gzip":   {0x1f, 0x8b},
		"BZh no block": []byte("BZh9 hello world"),
		"text":         []byte("#!/bin/sh\necho hi\n"),
	}
	for name, data := range cases {
		if got := DetectCompression(data); got != NoCompression {
			t.Errorf("%s: DetectCompression = %q, want none", name, got)
		}
	}
}

func TestDetectDiskFormat(t *testing.T) {
	iso := make([]byte, sniffLen)
	copy(iso[32769:], "CD001")
	vdi := make([]byte, 512)
	copy(vdi[0x40:], []byte{0x7f, 0x10, 0xda, 0xbe})
	cases := map[string][]byte{
		"qcow2": fakeQcow2(4096),
		"vmdk":  []byte("KDMV\x01\x00\x00\x00"),
		"vhdx":  []byte("vhdxfile\x00\x00"),
		"vhd":   []byte("conectix\x00\x00\x00\x02"),
		"vdi":   vdi,
		"iso":   iso,
		"raw":   make([]byte, 4096),
	}
	for want, data := range cases {
		if got := DetectDiskFormat(data); got != want {
			t.Errorf("DetectDiskFormat(%s) = %q", want, got)
		}
	}
}

func TestFormatFromName(t *testing.T) {
	cases := map[string]string{
		"Fedora-Cloud-Base-37-1.7.x86_64.qcow2": "qcow2",
		"/out/disk.raw.xz":                      "raw",
		"https://x/y/openstack-amd64.img.zst":   "raw",
		"win.vhdx.gz":                           "vhdx",
		"DISK.VMDK":                             "vmdk",
		"netinst.iso.bz2":                       "iso",
	}
	for name, want := range cases {
		if got, ok := FormatFromName(name); !ok || got != want {
			t.Errorf("FormatFromName(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"packer-manifest.json", "image", "disk.tar.gz"} {
		if _, ok := FormatFromName(name); ok {
			t.Errorf("FormatFromName(%q) claims an image format", name)
		}
	}
}
