package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepCreateSecurityGroup makes, with temporary_security_group, a group that opens
// only the communicator port to the configured source ranges.
//
// Uses: config, cloud. Produces: temp_secgroup_id.
type stepCreateSecurityGroup struct {
	created string
	// lost names a group whose create call ended without a usable reply.
	lost string
}

func (s *stepCreateSecurityGroup) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if !cfg.TemporarySecurityGroup {
		return multistep.ActionContinue
	}
	port := cfg.Comm.Port()
	if port == 0 {
		return halt(state, fmt.Errorf("temporary_security_group needs a communicator port, and communicator %q has none", cfg.Comm.Type))
	}
	name := tempName(state, "secgroup")
	ui.Sayf("Creating the temporary security group %s (TCP %d from %v)...", name, port, cfg.TemporarySecurityGroupSourceCIDRs)
	id, err := cloud.Network.CreateSecurityGroup(ctx, name, "Temporary group of a Packer build; deleted after it")
	if err != nil {
		if retry.CreateMayHaveHappened(ctx, err) {
			s.lost = name
		}
		return halt(state, fmt.Errorf("creating security group %q: %w", name, err))
	}
	s.created = id
	state.Put(stateTempSecGroup, id)
	for _, cidr := range cfg.TemporarySecurityGroupSourceCIDRs {
		if err := cloud.Network.AllowIngress(ctx, id, port, cidr); err != nil {
			return halt(state, fmt.Errorf("opening TCP port %d to %s in security group %s: %w", port, cidr, id, err))
		}
	}
	state.Put(stateSecurityGroups, []string{id})
	return multistep.ActionContinue
}

func (s *stepCreateSecurityGroup) Cleanup(state multistep.StateBag) {
	if s.created == "" && s.lost != "" {
		name := s.lost
		s.lost = ""
		for _, id := range findLost(state, "security group "+name, func(ctx context.Context) ([]string, error) {
			return cloudOf(state).Network.SecurityGroupsNamed(ctx, name)
		}) {
			s.created = id
			s.deleteGroup(state)
		}
		return
	}
	if s.created != "" {
		s.deleteGroup(state)
	}
}

// deleteGroup deletes s.created and clears it once gone.
func (s *stepCreateSecurityGroup) deleteGroup(state multistep.StateBag) {
	ui, cloud := uiOf(state), cloudOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the temporary security group %s...", s.created)
	// Neutron refuses (409) while a port of the just-deleted server still uses the
	// group; retry until the port is gone.
	err := retry.WaitFor(ctx, "security group "+s.created+" to be deletable", configOf(state).StateTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		err := cloud.Network.DeleteSecurityGroup(ctx, s.created)
		switch {
		case err == nil, osapi.IsNotFound(err):
			return true, nil
		case osapi.IsConflict(err):
			return false, nil
		}
		return false, err
	})
	if err != nil {
		ui.Error(fmt.Sprintf("Error deleting security group %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}
