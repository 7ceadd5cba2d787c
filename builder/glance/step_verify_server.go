package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepVerifyServer boots the test server, packer_<build-uuid>_verify, from the
// new image, with the build's networks, ports, security groups, keypair,
// availability zone, config drive and instance metadata (no user data: the
// image is tested as its users will boot it), waits for it to be ACTIVE,
// deletes the temporary keypair (kept until now for this server) and moves
// the build's floating IP, if any, to it. Its clean-up deletes the server,
// also one whose create reply was lost, when the boot test ends.
//
// Uses: config, cloud, image_id, verify_flavor_id, networks, ports,
// security_groups, keypair_name, floating_ip. Produces: verify_server_id,
// verify_server.
type stepVerifyServer struct {
	created string
	lost    string // name of a server whose create reply was lost
}

func (s *stepVerifyServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	spec := ServerSpec{
		Name:             tempName(state, "verify"),
		ImageID:          stringOf(state, stateImageID),
		FlavorID:         stringOf(state, stateVerifyFlavorID),
		AvailabilityZone: cfg.AvailabilityZone,
		ConfigDrive:      cfg.ConfigDrive,
		KeyName:          stringOf(state, stateKeyPairName),
		Metadata:         map[string]string{},
	}
	placeServer(state, &spec)

	ui.Sayf("Creating the test server %s from image %s...", spec.Name, spec.ImageID)
	id, err := cloud.Compute.CreateServer(ctx, spec)
	if err != nil {
		if retry.CreateMayHaveHappened(ctx, err) {
			s.lost = spec.Name
		}
		return halt(state, fmt.Errorf("creating the test server %q: %w", spec.Name, err))
	}
	s.created = id
	state.Put(stateVerifyServerID, id)

	ui.Sayf("Waiting for the test server %s to become ACTIVE...", id)
	srv, err := waitServerStatus(ctx, state, id, "ACTIVE", cfg.StateTimeout)
	if err != nil {
		return halt(state, fmt.Errorf("the test server did not boot from the new image: %w", err))
	}
	state.Put(stateVerifyServer, srv)
	ui.Sayf("Test server %s is ACTIVE", id)
	if kp, ok := state.Get(stateKeypairStep).(*stepCreateKeypair); ok {
		kp.deleteNow(ctx, state)
	}

	if fip, ok := state.Get(stateFloatingIP).(*FloatingIP); ok && fip != nil {
		port, err := (&stepAllocateFloatingIP{}).serverPort(ctx, state, id)
		if err != nil {
			return halt(state, err)
		}
		ui.Sayf("Attaching floating IP %s to the test server...", fip.Address)
		if _, err := cloud.Network.AssociateFloatingIP(ctx, fip.ID, port); err != nil {
			return halt(state, fmt.Errorf("attaching floating IP %s to the test server's port %s: %w", fip.Address, port, err))
		}
	}
	return multistep.ActionContinue
}

func (s *stepVerifyServer) Cleanup(state multistep.StateBag) {
	if s.created == "" && s.lost != "" {
		name := s.lost
		s.lost = ""
		for _, id := range lostServers(state, name) {
			s.created = id
			s.remove(state)
		}
		return
	}
	if s.created != "" {
		s.remove(state)
	}
}

// remove deletes the test server and waits until it is gone, so the floating
// IP and the ports are free for the build's clean-up.
func (s *stepVerifyServer) remove(state multistep.StateBag) {
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the test server %s...", s.created)
	if err := deleteServer(ctx, state, s.created); err != nil && !osapi.IsNotFound(err) {
		ui.Error(fmt.Sprintf("Error deleting the test server %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}
