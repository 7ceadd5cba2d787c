package glanceimport

import (
	"bufio"
	"crypto/md5"  //nolint:gosec // users' checksums still come as MD5
	"crypto/sha1" //nolint:gosec // users' checksums still come as SHA-1
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"regexp"
	"strings"
)

// Checksum is an expected digest of the source bytes, as written in a template:
// either a value or a reference to a checksum file that holds it.
type Checksum struct {
	// Algorithm is md5, sha1, sha256 or sha512; empty for a file whose entries tell it.
	Algorithm string
	// Value is the lower-case hex digest; empty when File is set.
	Value string
	// File is the URL or path of a SUMS file.
	File string
}

// digestLengths maps hex digest length to algorithm, for bare values and SUMS lines.
var digestLengths = map[int]string{32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

var algorithmLengths = map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

// ParseChecksum reads a checksum option: "sha256:<hex>", "<hex>", "file:<url>",
// "sha256:file:<url>" or "none"/"" (no check, nil result).
func ParseChecksum(s string) (*Checksum, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return nil, nil
	}
	algo, rest, hasPrefix := strings.Cut(s, ":")
	algo = strings.ToLower(algo)
	switch {
	case algo == "file" && hasPrefix:
		if rest == "" {
			return nil, errors.New("checksum file: needs a URL or path after file:")
		}
		return &Checksum{File: rest}, nil
	case hasPrefix && algorithmLengths[algo] > 0:
		if f, ok := strings.CutPrefix(rest, "file:"); ok {
			if f == "" {
				return nil, fmt.Errorf("checksum %s:file: needs a URL or path", algo)
			}
			return &Checksum{Algorithm: algo, File: f}, nil
		}
		v := strings.ToLower(rest)
		if err := checkHex(v, algo); err != nil {
			return nil, err
		}
		return &Checksum{Algorithm: algo, Value: v}, nil
	case hasPrefix && !strings.Contains(algo, "/"):
		return nil, fmt.Errorf("checksum type %q is not supported: use md5, sha1, sha256, sha512 or file", algo)
	}
	v := strings.ToLower(s)
	a, ok := digestLengths[len(v)]
	if !ok {
		return nil, fmt.Errorf("checksum %q is neither <type>:<hex>, file:<url> nor a hex digest of a known length", s)
	}
	if err := checkHex(v, a); err != nil {
		return nil, err
	}
	return &Checksum{Algorithm: a, Value: v}, nil
}

func checkHex(v, algo string) error {
	if _, err := hex.DecodeString(v); err != nil {
		return fmt.Errorf("%s checksum %q is not hexadecimal", algo, v)
	}
	if len(v) != algorithmLengths[algo] {
		return fmt.Errorf("%s checksum has %d hex digits, want %d", algo, len(v), algorithmLengths[algo])
	}
	return nil
}

// newHash returns a hash for an algorithm ParseChecksum accepts.
func newHash(algo string) hash.Hash {
	switch algo {
	case "md5":
		return md5.New() //nolint:gosec
	case "sha1":
		return sha1.New() //nolint:gosec
	case "sha256":
		return sha256.New()
	default:
		return sha512.New()
	}
}

// bsdLine is "SHA256 (name) = hex", used by BSD tools and Fedora's CHECKSUM files.
var bsdLine = regexp.MustCompile(`^([A-Za-z0-9-]+) ?\((.+)\) ?= ?([0-9A-Fa-f]+)$`)

// FindInSums reads a checksum file and returns the entry for fileName (matched on
// the base name, as the files list names relative to their folder). It accepts GNU
// coreutils lines ("hex  name", "hex *name"), BSD/Fedora lines ("SHA256 (name) =
// hex", PGP-signed or not) and a file holding a single digest. want, when not
// empty, restricts entries to one algorithm.
func FindInSums(r io.Reader, fileName, want string) (*Checksum, error) {
	base := path.Base(fileName)
	var only []*Checksum
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-----") || strings.HasPrefix(line, "Hash:") {
			continue
		}
		var algo, name, value string
		if m := bsdLine.FindStringSubmatch(line); m != nil {
			algo, name, value = normalizeAlgorithm(m[1]), m[2], strings.ToLower(m[3])
		} else {
			fields := strings.Fields(line)
			switch len(fields) {
			case 1:
				value = strings.ToLower(fields[0])
			case 0:
				continue
			default:
				value = strings.ToLower(fields[0])
				name = strings.TrimPrefix(strings.Join(fields[1:], " "), "*")
			}
			algo = digestLengths[len(value)]
		}
		if algorithmLengths[algo] == 0 || len(value) != algorithmLengths[algo] {
			continue
		}
		if _, err := hex.DecodeString(value); err != nil {
			continue
		}
		if want != "" && algo != want {
			continue
		}
		c := &Checksum{Algorithm: algo, Value: value}
		if name == "" {
			only = append(only, c)
			continue
		}
		if name == fileName || path.Base(strings.TrimPrefix(name, "./")) == base {
			return c, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading checksum file: %w", err)
	}
	if len(only) == 1 {
		return only[0], nil
	}
	return nil, fmt.Errorf("the checksum file has no entry for %q", base)
}

// normalizeAlgorithm maps names used in checksum files (SHA256, SHA2-256, sha-512)
// to ours.
func normalizeAlgorithm(name string) string {
	n := strings.ToLower(strings.ReplaceAll(name, "-", ""))
	switch n {
	case "sha2256":
		return "sha256"
	case "sha2512":
		return "sha512"
	}
	return n
}
