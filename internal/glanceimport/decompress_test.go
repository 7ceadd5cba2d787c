package glanceimport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// xzTool encodes data with the xz tool and the given options, skipping the
// test when the tool is missing. The hc3 match finder keeps the encoder's
// memory small even for a huge dictionary.
func xzTool(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("the xz tool is missing (apt-get install xz-utils)")
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command("xz", append([]string{"-c"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(data), &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("xz %v: %v: %s", args, err, stderr.String())
	}
	return out.Bytes()
}

func TestXzDictionaryOfRealStreams(t *testing.T) {
	data := fakeQcow2(64 << 10)
	cases := []struct {
		args []string
		want int64
	}{
		{[]string{"-0"}, 256 << 10},
		{[]string{"-6"}, 8 << 20},
		{[]string{"--lzma2=dict=1MiB"}, 1 << 20},
		{[]string{"--lzma2=dict=3MiB"}, 3 << 20},
		{[]string{"--lzma2=dict=64MiB,mf=hc3"}, 64 << 20},
		{[]string{"--lzma2=dict=768MiB,mf=hc3"}, 768 << 20},
		{[]string{"--lzma2=dict=1536MiB,mf=hc3"}, 1536 << 20},
		// Filters before LZMA2, with and without properties.
		{[]string{"--x86", "--lzma2=dict=2MiB"}, 2 << 20},
		{[]string{"--delta=dist=4", "--lzma2=dict=12MiB"}, 12 << 20},
		{[]string{"--check=none", "--lzma2=dict=4MiB"}, 4 << 20},
	}
	for _, tc := range cases {
		// -T1 writes plain block headers, -T2 adds both sizes to them.
		for _, threads := range []string{"-T1", "-T2"} {
			name := strings.Join(append([]string{threads}, tc.args...), " ")
			t.Run(name, func(t *testing.T) {
				stream := xzTool(t, data, append([]string{threads}, tc.args...)...)
				got, ok := xzDictionary(stream[:min(len(stream), xzHeaderPeek)])
				if !ok || got != tc.want {
					t.Errorf("xzDictionary = %d MiB, %v; want %d MiB", got>>20, ok, tc.want>>20)
				}
			})
		}
	}
}

func TestXzDictionaryWhenTheHeaderDoesNotSay(t *testing.T) {
	empty := xzTool(t, nil) // a stream without a block: header, index, footer
	whole := xzTool(t, fakeQcow2(4<<10), "--lzma2=dict=1MiB")
	for name, head := range map[string][]byte{
		"no block":          empty,
		"nothing":           nil,
		"stream header":     whole[:12],
		"cut block header":  whole[:15],
		"not xz at all":     bytes.Repeat([]byte{0xff}, 64),
		"block header size": append(append([]byte{}, whole[:12]...), 0xff, 0, 0, 0),
	} {
		if size, ok := xzDictionary(head); ok {
			t.Errorf("%s: xzDictionary = %d, true; want false", name, size)
		}
	}

	// The property byte's extremes: 40 means 4 GiB - 1, above 40 is invalid.
	prop := bytes.IndexByte(whole[12:], 0x21) + 12 + 2
	for bits, want := range map[byte]int64{0: 4 << 10, 1: 6 << 10, 39: 3 << 30, 40: 1<<32 - 1} {
		b := append([]byte{}, whole...)
		b[prop] = bits
		if got, ok := xzDictionary(b); !ok || got != want {
			t.Errorf("property %d: %d, %v; want %d", bits, got, ok, want)
		}
	}
	b := append([]byte{}, whole...)
	b[prop] = 41
	if _, ok := xzDictionary(b); ok {
		t.Error("property 41 was read as a size")
	}
}

// A stream that asks for more than xzMemoryLimit is refused by both decoders;
// one within it decodes.
func TestXzDecompressionIsBounded(t *testing.T) {
	data := fakeQcow2(256 << 10)
	big := xzTool(t, data, "-T1", "--lzma2=dict=768MiB,mf=hc3")
	fine := xzTool(t, data, "-T1", "--lzma2=dict=64MiB,mf=hc3")
	decode := func(stream []byte) ([]byte, error) {
		// The engine hands the decoder a buffered reader, whose head it reads.
		dec, err := newDecompressor(context.Background(), Xz, bufio.NewReaderSize(bytes.NewReader(stream), 2*sniffLen))
		if err != nil {
			return nil, err
		}
		defer dec.Close()
		return io.ReadAll(dec)
	}
	for _, tools := range []string{"tool", "go"} {
		t.Run(tools, func(t *testing.T) {
			if tools == "go" {
				t.Setenv(NoToolsEnv, "1")
			}
			out, err := decode(big)
			if err == nil {
				t.Fatalf("a stream asking for a 768 MiB dictionary decoded (%d bytes)", len(out))
			}
			if want := map[string]string{"tool": "Memory usage limit", "go": "needs a 768 MiB dictionary"}[tools]; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			out, err = decode(fine)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("a 64 MiB dictionary: %d bytes, %v", len(out), err)
			}
		})
	}
}
