package glanceimport

import (
	"strings"
	"testing"
)

const (
	md5Hex    = "d41d8cd98f00b204e9800998ecf8427e"
	sha1Hex   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sha512Hex = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)

func TestParseChecksumAlgorithms(t *testing.T) {
	cases := []struct{ in, algo, value string }{
		{"md5:" + md5Hex, "md5", md5Hex},
		{"sha1:" + sha1Hex, "sha1", sha1Hex},
		{"sha256:" + sha256Hex, "sha256", sha256Hex},
		{"SHA256:" + strings.ToUpper(sha256Hex), "sha256", sha256Hex},
		{"sha512:" + sha512Hex, "sha512", sha512Hex},
		{sha256Hex, "sha256", sha256Hex},
		{md5Hex, "md5", md5Hex},
		{" sha512:" + sha512Hex + " ", "sha512", sha512Hex},
	}
	for _, c := range cases {
		got, err := ParseChecksum(c.in)
		if err != nil {
			t.Errorf("ParseChecksum(%q): %v", c.in, err)
			continue
		}
		if got.Algorithm != c.algo || got.Value != c.value || got.File != "" {
			t.Errorf("ParseChecksum(%q) = %+v", c.in, got)
		}
	}
}

func TestParseChecksumFiles(t *testing.T) {
	got, err := ParseChecksum("file:https://example.com/SHA256SUMS")
	if err != nil || got.File != "https://example.com/SHA256SUMS" || got.Algorithm != "" {
		t.Fatalf("file: form = %+v, %v", got, err)
	}
	got, err = ParseChecksum("sha512:file:./SHA512SUMS")
	if err != nil || got.File != "./SHA512SUMS" || got.Algorithm != "sha512" {
		t.Fatalf("algo:file: form = %+v, %v", got, err)
	}
	for _, none := range []string{"", "none", "NONE"} {
		if got, err := ParseChecksum(none); got != nil || err != nil {
			t.Errorf("ParseChecksum(%q) = %+v, %v; want no check", none, got, err)
		}
	}
}

func TestParseChecksumRejects(t *testing.T) {
	for _, bad := range []string{
		"sha256:" + md5Hex,              // wrong length
		"sha256:" + sha256Hex[1:] + "z", // not hex
		"crc32:deadbeef",                // unknown type
		"file:",                         // no target
		"sha256:file:",                  // no target
		"abc",                           // bare, unknown length
	} {
		if _, err := ParseChecksum(bad); err == nil {
			t.Errorf("ParseChecksum(%q) accepted", bad)
		}
	}
}

func TestFindInSumsGNU(t *testing.T) {
	sums := "# Ubuntu\n" + sha256Hex[:63] + "1 *other.img\n" + sha256Hex + " *jammy-server-cloudimg-amd64.img\n"
	got, err := FindInSums(strings.NewReader(sums), "jammy-server-cloudimg-amd64.img", "")
	if err != nil || got.Value != sha256Hex || got.Algorithm != "sha256" {
		t.Fatalf("GNU binary-mode line: %+v, %v", got, err)
	}
	sums = md5Hex + "  ./sub/debian-12-generic-amd64.qcow2\n"
	got, err = FindInSums(strings.NewReader(sums), "debian-12-generic-amd64.qcow2", "")
	if err != nil || got.Algorithm != "md5" {
		t.Fatalf("GNU text-mode line with folder: %+v, %v", got, err)
	}
}

func TestFindInSumsBSDAndFedora(t *testing.T) {
	fedora := `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Fedora-Cloud-Base-37-1.7.x86_64.qcow2: 497090560 bytes
SHA256 (Fedora-Cloud-Base-37-1.7.x86_64.qcow2) = ` + sha256Hex + `
# Fedora-Cloud-Base-37-1.7.x86_64.raw.xz: 366473020 bytes
SHA256 (Fedora-Cloud-Base-37-1.7.x86_64.raw.xz) = ` + strings.Repeat("a", 64) + `
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEEslTN5sn0b4MDc5fmM9ZYDCcD6DAFAmNhp8gACgkQM9ZYDCcD
-----END PGP SIGNATURE-----
`
	got, err := FindInSums(strings.NewReader(fedora), "Fedora-Cloud-Base-37-1.7.x86_64.raw.xz", "")
	if err != nil || got.Value != strings.Repeat("a", 64) {
		t.Fatalf("Fedora CHECKSUM: %+v, %v", got, err)
	}
	bsd := "SHA512 (disk.img) = " + sha512Hex + "\nMD5 (disk.img) = " + md5Hex + "\n"
	got, err = FindInSums(strings.NewReader(bsd), "disk.img", "md5")
	if err != nil || got.Algorithm != "md5" || got.Value != md5Hex {
		t.Fatalf("BSD with wanted algorithm: %+v, %v", got, err)
	}
	got, err = FindInSums(strings.NewReader("SHA2-256(disk.img)= "+sha256Hex+"\n"), "disk.img", "")
	if err != nil || got.Algorithm != "sha256" {
		t.Fatalf("OpenSSL dgst style: %+v, %v", got, err)
	}
}

func TestFindInSumsSingleValueAndMissing(t *testing.T) {
	got, err := FindInSums(strings.NewReader(sha512Hex+"\n"), "anything.qcow2", "")
	if err != nil || got.Algorithm != "sha512" {
		t.Fatalf("single value: %+v, %v", got, err)
	}
	if _, err := FindInSums(strings.NewReader(sha256Hex+"  other.qcow2\n"), "mine.qcow2", ""); err == nil || !strings.Contains(err.Error(), "mine.qcow2") {
		t.Fatalf("missing entry: %v", err)
	}
}
