package glance

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/communicator/sshkey"
)

func rsaPEM(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestStepGetPassword(t *testing.T) {
	winrm := with("ssh_username", nil, "communicator", "winrm", "winrm_username", "Administrator")
	t.Run("waits for the guest and keeps the password", func(t *testing.T) {
		e := newTestEnv(t, winrm)
		e.cfg.Comm.SSHPrivateKey = rsaPEM(t)
		e.state.Put(stateServerID, "srv-1")
		e.fake.passwordScript = []string{"", "", "S3cret!"}
		e.mustRun(t, &stepGetPassword{})
		if e.cfg.Comm.WinRMPassword != "S3cret!" {
			t.Errorf("password = %q", e.cfg.Comm.WinRMPassword)
		}
		if contains(e.out.String(), "S3cret!") {
			t.Error("the password was shown")
		}
	})
	t.Run("API error fails clearly", func(t *testing.T) {
		e := newTestEnv(t, winrm)
		e.cfg.Comm.SSHPrivateKey = rsaPEM(t)
		e.state.Put(stateServerID, "srv-1")
		e.fake.fail["ServerPassword"] = errServer
		e.mustHalt(t, &stepGetPassword{}, "fetching or decrypting the administrator password of server srv-1")
	})
	t.Run("non-RSA key", func(t *testing.T) {
		e := newTestEnv(t, winrm)
		pair, err := sshkey.GeneratePair(sshkey.ED25519, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		e.cfg.Comm.SSHPrivateKey = pair.Private
		e.mustHalt(t, &stepGetPassword{}, "RSA")
	})
	t.Run("not needed with a password or ssh", func(t *testing.T) {
		for _, raw := range []map[string]interface{}{minimal(), with("ssh_username", nil, "communicator", "winrm", "winrm_username", "A", "winrm_password", "test-winrm-secret")} {
			e := newTestEnv(t, raw)
			e.mustRun(t, &stepGetPassword{})
			if len(e.fake.calls) != 0 {
				t.Errorf("calls: %v", e.fake.calls)
			}
		}
	})
}
