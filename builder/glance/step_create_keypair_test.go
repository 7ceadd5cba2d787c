package glance

import (
	"testing"
)

func TestStepCreateKeypair(t *testing.T) {
	t.Run("uploads the temporary key and deletes it", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.cfg.Comm.SSHPublicKey = []byte("ssh-ed25519 AAAA test\n")
		s := &stepCreateKeypair{}
		e.mustRun(t, s)
		if got := e.fake.keypairs["packer_0000-uuid_keypair"]; got != "ssh-ed25519 AAAA test" {
			t.Errorf("uploaded key = %q", got)
		}
		if stringOf(e.state, stateKeyPairName) != "packer_0000-uuid_keypair" {
			t.Error("keypair_name not set")
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("existing keypair is named, not created", func(t *testing.T) {
		e := newTestEnv(t, with("ssh_keypair_name", "mine", "ssh_agent_auth", true))
		s := &stepCreateKeypair{}
		e.mustRun(t, s)
		s.Cleanup(e.state)
		if e.fake.called("CreateKeypair")+e.fake.called("DeleteKeypair") != 0 || stringOf(e.state, stateKeyPairName) != "mine" {
			t.Errorf("calls %v, keypair_name %q", e.fake.calls, stringOf(e.state, stateKeyPairName))
		}
	})
	t.Run("password login needs no keypair", func(t *testing.T) {
		e := newTestEnv(t, with("ssh_password", "test-ssh-secret"))
		e.mustRun(t, &stepCreateKeypair{})
		if e.fake.called("CreateKeypair") != 0 {
			t.Error("created a keypair")
		}
	})
	t.Run("reply lost: the keypair holding this build's key is deleted", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.fake.lose["CreateKeypair"] = errServer
		s := &stepCreateKeypair{}
		e.mustHalt(t, s, `creating keypair "packer_0000-uuid_keypair"`)
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("reply lost: a keypair of that name with another key is left alone", func(t *testing.T) {
		e := newTestEnv(t, with("temporary_key_pair_name", "team-key"))
		e.cfg.Comm.SSHPublicKey = []byte("ssh-ed25519 AAAA ours\n")
		e.fake.keypairs["team-key"] = "ssh-ed25519 BBBB a colleague's"
		e.fake.fail["CreateKeypair"] = errServer
		s := &stepCreateKeypair{}
		e.mustHalt(t, s, `creating keypair "team-key"`)
		s.Cleanup(e.state)
		if e.fake.called("DeleteKeypair") != 0 || e.fake.keypairs["team-key"] != "ssh-ed25519 BBBB a colleague's" {
			t.Errorf("the colleague's keypair was touched: calls %v", e.fake.calls)
		}
	})
	t.Run("Nova refuses", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.fake.fail["CreateKeypair"] = errConflict
		s := &stepCreateKeypair{}
		e.mustHalt(t, s, `creating keypair "packer_0000-uuid_keypair"`)
		s.Cleanup(e.state)
		if e.fake.called("DeleteKeypair") != 0 {
			t.Error("deleted a keypair it did not create")
		}
	})
}
