package glance

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"golang.org/x/crypto/ssh"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepGetPassword fetches, for WinRM without winrm_password, the administrator
// password the guest posted to Nova, and decrypts it with the build's RSA key.
// API errors and a key that cannot decrypt fail the build with the reason; the
// wait for the guest to post the password is bounded by winrm_timeout.
//
// Uses: config, cloud, server_id. Produces: config.Comm.WinRMPassword.
type stepGetPassword struct{}

func (s *stepGetPassword) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if cfg.Comm.Type != "winrm" || cfg.Comm.WinRMPassword != "" {
		return multistep.ActionContinue
	}
	key, err := rsaKey(cfg.Comm.SSHPrivateKey)
	if err != nil {
		return halt(state, err)
	}
	id := stringOf(state, stateServerID)
	ui.Sayf("Waiting for server %s to post its administrator password to Nova...", id)
	var password string
	err = retry.WaitFor(ctx, "the administrator password of server "+id, cfg.Comm.WinRMTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		p, err := cloud.Compute.ServerPassword(ctx, id, key)
		if err != nil {
			return false, fmt.Errorf("fetching or decrypting the administrator password of server %s: %w", id, err)
		}
		password = p
		return p != "", nil
	})
	if err != nil {
		return halt(state, err)
	}
	packersdk.LogSecretFilter.Set(password)
	cfg.Comm.WinRMPassword = password
	ui.Say("Administrator password retrieved")
	return multistep.ActionContinue
}

func (s *stepGetPassword) Cleanup(multistep.StateBag) {}

// rsaKey parses the PEM private key that decrypts Nova's password.
func rsaKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	if len(pemBytes) == 0 {
		return nil, errors.New("no private key to decrypt the WinRM password with: set winrm_password, or let the builder make a temporary RSA key")
	}
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the private key that decrypts the WinRM password: %w", err)
	}
	key, ok := raw.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is %T, but Nova encrypts the WinRM password for an RSA key: use temporary_key_pair_type = \"rsa\"", raw)
	}
	return key, nil
}
