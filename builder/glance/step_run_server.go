package glance

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepRunServer creates the temporary server. Its cleanup deletes the server and
// waits until Nova has really removed it, unless the volume flow already did.
//
// Uses: config, cloud, flavor_id, source_image, networks, ports, security_groups,
// keypair_name, volume_id. Produces: server_id, instance_id.
type stepRunServer struct {
	created string
	// lost names a server whose create call ended without a usable reply.
	lost string
}

func (s *stepRunServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	spec := ServerSpec{
		Name:             cfg.InstanceName,
		FlavorID:         stringOf(state, stateFlavorID),
		AvailabilityZone: cfg.AvailabilityZone,
		ConfigDrive:      cfg.ConfigDrive,
		KeyName:          stringOf(state, stateKeyPairName),
		VolumeID:         stringOf(state, stateVolumeID),
		Metadata:         map[string]string{},
	}
	if spec.Name == "" {
		spec.Name = tempName(state, "server")
	}
	if spec.VolumeID == "" {
		spec.ImageID = state.Get(stateSourceImage).(*Image).ID
	}
	placeServer(state, &spec)
	switch {
	case cfg.UserDataFile != "":
		data, err := os.ReadFile(cfg.UserDataFile)
		if err != nil {
			return halt(state, fmt.Errorf("reading user_data_file: %w", err))
		}
		spec.UserData = data
	case cfg.UserData != "":
		spec.UserData = []byte(cfg.UserData)
	}

	ui.Sayf("Creating server %s...", spec.Name)
	id, err := cloud.Compute.CreateServer(ctx, spec)
	if err != nil {
		if retry.CreateMayHaveHappened(ctx, err) {
			s.lost = spec.Name
		}
		return halt(state, fmt.Errorf("creating server %q: %w", spec.Name, err))
	}
	s.created = id
	state.Put(stateServerID, id)
	state.Put(stateInstanceID, id)
	ui.Sayf("Server %s created", id)
	return multistep.ActionContinue
}

func (s *stepRunServer) Cleanup(state multistep.StateBag) {
	if s.created == "" && s.lost != "" {
		name := s.lost
		s.lost = ""
		for _, id := range lostServers(state, name) {
			s.created = id
			s.removeServer(state)
		}
		return
	}
	if s.created == "" {
		return
	}
	s.removeServer(state)
}

// removeServer deletes s.created, unless the volume flow already did, and clears it
// once gone.
func (s *stepRunServer) removeServer(state multistep.StateBag) {
	if deleted, _ := state.Get(stateServerDeleted).(bool); deleted {
		return
	}
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := awaitSnapshotFinished(ctx, state, s.created); err != nil {
		// Deleting it now may cost the image, but leaving it would leak the server.
		ui.Error(fmt.Sprintf("Warning: %s; deleting server %s anyway", err, s.created))
	}
	ui.Sayf("Deleting server %s...", s.created)
	if err := deleteServer(ctx, state, s.created); err != nil {
		ui.Error(fmt.Sprintf("Error deleting server %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}

// deleteServer deletes a server and waits until it is gone, so that its ports,
// floating IP, security group and volume can be released afterwards. (Nova's
// occasional 500 or 409 on delete is retried by the session's policy.) The
// first read comes at the cloud's pace: a deletion takes Nova about as long as
// a stop.
func deleteServer(ctx context.Context, state multistep.StateBag, id string) error {
	cfg, cloud := configOf(state), cloudOf(state)
	switch err := cloud.Compute.DeleteServer(ctx, id, cfg.ForceDelete); {
	case osapi.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("deleting server %s: %w", id, err)
	}
	settle(ctx, firstPoll(state))
	return retry.WaitFor(ctx, "server "+id+" to be deleted", cfg.StateTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		srv, err := cloud.Compute.GetServer(ctx, id)
		switch {
		case osapi.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, fmt.Errorf("reading server %s: %w", id, err)
		case srv.Status == "DELETED" || srv.Status == "SOFT_DELETED":
			return true, nil
		}
		return false, nil
	})
}

// placeServer fills in what every server of the build shares: the instance
// metadata with the build's marker, the networks, ports and security groups.
func placeServer(state multistep.StateBag, spec *ServerSpec) {
	if spec.Metadata == nil {
		spec.Metadata = map[string]string{}
	}
	for k, v := range configOf(state).InstanceMetadata {
		spec.Metadata[k] = v
	}
	spec.Metadata["packer_build_uuid"] = stringOf(state, stateBuildUUID)
	if nets, ok := state.Get(stateNetworks).([]NetworkInfo); ok {
		for _, n := range nets {
			spec.Networks = append(spec.Networks, n.ID)
		}
	}
	if ports, ok := state.Get(statePorts).([]PortInfo); ok {
		for _, p := range ports {
			spec.Ports = append(spec.Ports, p.ID)
		}
	}
	if groups, ok := state.Get(stateSecurityGroups).([]string); ok {
		spec.SecurityGroups = groups
	}
}
