package glance

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepCreateKeypair uploads the temporary public key (made by the SDK's
// StepSSHKeyGen) to Nova, or names the user's own keypair.
//
// Uses: config, cloud. Produces: keypair_name.
type stepCreateKeypair struct {
	created string
	// lost names a keypair whose create call got no usable reply: the clean-up
	// deletes it only if it holds this build's public key, since the name may
	// be the user's (temporary_key_pair_name) and taken by someone else's.
	lost, public string
}

// needsTemporaryKey says whether the build logs in with a key it generates itself.
func needsTemporaryKey(cfg *Config) bool {
	c := cfg.Comm
	if c.SSHKeyPairName != "" || c.SSHPrivateKeyFile != "" {
		return false
	}
	switch c.Type {
	case "ssh":
		return c.SSHPassword == "" && !c.SSHAgentAuth
	case "winrm":
		return c.WinRMPassword == ""
	}
	return false
}

func (s *stepCreateKeypair) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if cfg.Comm.SSHKeyPairName != "" {
		ui.Sayf("Using the existing keypair %q", cfg.Comm.SSHKeyPairName)
		state.Put(stateKeyPairName, cfg.Comm.SSHKeyPairName)
		return multistep.ActionContinue
	}
	if !needsTemporaryKey(cfg) {
		return multistep.ActionContinue
	}
	name := cfg.Comm.SSHTemporaryKeyPairName
	if name == "" {
		name = tempName(state, "keypair")
	}
	ui.Sayf("Uploading the temporary %s key as keypair %s...", cfg.Comm.SSHTemporaryKeyPairType, name)
	public := strings.TrimSpace(string(cfg.Comm.SSHPublicKey))
	if err := cloud.Compute.CreateKeypair(ctx, name, public); err != nil {
		if retry.CreateMayHaveHappened(ctx, err) {
			s.lost, s.public = name, public // Nova may have it: the clean-up looks
		}
		return halt(state, fmt.Errorf("creating keypair %q: %w", name, err))
	}
	s.created = name
	state.Put(stateKeyPairName, name)
	state.Put(stateKeypairStep, s)
	return multistep.ActionContinue
}

// deleteNow deletes the temporary keypair before clean-up, once the server that
// needed it exists. A failure is left to the clean-up, which tries again.
func (s *stepCreateKeypair) deleteNow(ctx context.Context, state multistep.StateBag) {
	if s.created == "" {
		return
	}
	if err := cloudOf(state).Compute.DeleteKeypair(ctx, s.created); err != nil && !osapi.IsNotFound(err) {
		return
	}
	uiOf(state).Sayf("Deleted the temporary keypair %s (the server has its key)", s.created)
	s.created = ""
}

func (s *stepCreateKeypair) Cleanup(state multistep.StateBag) {
	if s.created == "" && s.lost == "" {
		return
	}
	if s.lost != "" && !s.lostOneIsOurs(state) {
		return
	}
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the temporary keypair %s...", s.created)
	if err := cloudOf(state).Compute.DeleteKeypair(ctx, s.created); err != nil && !osapi.IsNotFound(err) {
		ui.Error(fmt.Sprintf("Error deleting keypair %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}

// lostOneIsOurs looks, after a create whose reply was lost, for a keypair of
// that name holding this build's public key. Only then is it this build's to
// delete.
func (s *stepCreateKeypair) lostOneIsOurs(state multistep.StateBag) bool {
	name := s.lost
	s.lost = ""
	found := findLost(state, "keypair "+name, func(ctx context.Context) ([]string, error) {
		key, err := cloudOf(state).Compute.KeypairPublicKey(ctx, name)
		if osapi.IsNotFound(err) {
			return nil, nil
		}
		if err != nil || strings.TrimSpace(key) != s.public {
			return nil, err
		}
		return []string{name}, nil
	})
	if len(found) == 0 {
		return false // none, another's key, or the lookup failed (reported)
	}
	s.created = name
	return true
}
