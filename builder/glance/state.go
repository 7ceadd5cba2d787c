package glance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// State keys shared between steps. Each step documents which it uses and produces.
const (
	stateCloud           = "cloud"             // *Cloud
	stateBuildUUID       = "build_uuid"        // string
	stateFlavorID        = "flavor_id"         // string
	stateOldImages       = "old_images"        // []Image: same-named images to replace
	stateNetworks        = "networks"          // []NetworkInfo, in template order
	statePorts           = "ports"             // []PortInfo, in template order
	stateSecurityGroups  = "security_groups"   // []string IDs
	stateFloatingNetwork = "floating_network"  // *NetworkInfo
	stateFloatingPortNet = "floating_port_net" // string network ID
	stateSourceImage     = "source_image"      // *Image
	stateKeyPairName     = "keypair_name"      // string
	stateTempSecGroup    = "temp_secgroup_id"  // string
	stateVolumeID        = "volume_id"         // string
	stateServerID        = "server_id"         // string
	stateInstanceID      = "instance_id"       // string (the SDK's provisioner data reads it)
	stateServer          = "server"            // *Server, as last seen
	stateKeypairStep     = "keypair_step"      // *stepCreateKeypair, to delete the keypair early
	stateServerDeleted   = "server_deleted"    // bool: deleted before the upload (volume mode)
	stateFloatingIP      = "floating_ip"       // *FloatingIP attached to the server
	stateImageID         = "image_id"          // string: the new image
	stateImage           = "image"             // *Image: the new image once active
	stateGeneratedData   = "generated_data"    // map[string]interface{}
	stateCommunicatorKey = "communicator"      // SDK
	stateHook            = "hook"              // SDK
	stateUI              = "ui"                // SDK
	stateConfig          = "config"            // *Config
	stateError           = "error"             // error
	stateSourceImportURL = "source_import_url" // string: the external URL, for the artifact
	stateFirstPoll       = "first_poll"        // time.Duration: the cloud's pace (firstPoll)
)

// Polling schedules. Tests swap them for fast ones.
var (
	// transitionBackoff is for what usually ends within seconds and lies on the
	// build's critical path (a stop, a snapshot, a volume, a deletion): every
	// 500 ms while young, so the end is seen at most half a second late, then
	// less often, so a slow cloud is not flooded.
	transitionBackoff = retry.Backoff{Initial: 500 * time.Millisecond, Young: 10 * time.Second, Max: 5 * time.Second, Factor: 1.5}
	// bootBackoff is for a server's boot, which takes tens of seconds: the build
	// goes on when the guest's communicator port answers (stepWaitReachable
	// probes it without API calls), so Nova is asked less often.
	bootBackoff = retry.Backoff{Initial: time.Second, Max: 8 * time.Second, Factor: 1.5}
	// firstPollDelay is how long a status wait lets a transition run before its
	// first read: nothing is done the moment it was asked for, so an immediate
	// read would be a wasted request. Once the server has booted, the cloud's
	// pace replaces it (firstPoll).
	firstPollDelay = 500 * time.Millisecond
)

// firstPoll is how long a wait lets a short transition (a stop, a snapshot, a
// deletion) run before its first read. A cloud's transitions go at about the
// pace of its boots: one that took 12 s to boot the server does not stop it,
// snapshot it or delete it in under a second (a read before that is a wasted
// request), while one that boots in a fraction of a second stops as fast. So it
// is a tenth of the boot as the build saw it, kept between half and twice
// firstPollDelay (0.25-1 s); firstPollDelay itself until a server has booted.
func firstPoll(state multistep.StateBag) time.Duration {
	if d, ok := state.Get(stateFirstPoll).(time.Duration); ok {
		return d
	}
	return firstPollDelay
}

// notePace records the cloud's pace from a boot the build saw take boot.
func notePace(state multistep.StateBag, boot time.Duration) {
	state.Put(stateFirstPoll, min(max(boot/10, firstPollDelay/2), 2*firstPollDelay))
}

// settle waits d, or less when ctx ends first.
func settle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func cloudOf(state multistep.StateBag) *Cloud   { return state.Get(stateCloud).(*Cloud) }
func configOf(state multistep.StateBag) *Config { return state.Get(stateConfig).(*Config) }
func uiOf(state multistep.StateBag) packersdk.Ui {
	return state.Get(stateUI).(packersdk.Ui)
}

func stringOf(state multistep.StateBag, key string) string {
	s, _ := state.Get(key).(string)
	return s
}

// tempName names a temporary resource so an operator can find strays:
// packer_<build-uuid>_<kind>.
func tempName(state multistep.StateBag, kind string) string {
	return fmt.Sprintf("packer_%s_%s", stringOf(state, stateBuildUUID), kind)
}

func putGenerated(state multistep.StateBag, key string, value interface{}) {
	(&packerbuilderdata.GeneratedData{State: state}).Put(key, value)
}

// toWaiterImage converts an image to the gophercloud type the shared waiter reads.
func toWaiterImage(img *Image) *images.Image {
	props := make(map[string]any, len(img.Properties))
	for k, v := range img.Properties {
		props[k] = v
	}
	return &images.Image{ID: img.ID, Name: img.Name, Status: images.ImageStatus(img.Status), Properties: props}
}

// waitImageActive waits for an image with the shared waiter (which fails at once on
// killed, deleted and deactivated images) and returns the image as last read.
func waitImageActive(ctx context.Context, imgs Images, id, what string, timeout, firstRead time.Duration, importStarted bool, ui packersdk.Ui) (*Image, error) {
	var last *Image
	// A passing 5xx never reaches here: the session's retry policy rides it out.
	get := func(ctx context.Context, id string) (*images.Image, error) {
		img, err := imgs.GetImage(ctx, id)
		if err != nil {
			return nil, err
		}
		last = img
		return toWaiterImage(img), nil
	}
	settle(ctx, firstRead)
	_, err := osapi.WaitForImage(ctx, get, id, osapi.ImageWait{
		What:          what,
		Timeout:       timeout,
		ImportStarted: importStarted,
		Backoff:       transitionBackoff,
		OnStatus: func(img *images.Image) {
			ui.Sayf("%s is %s", what, img.Status)
		},
	})
	return last, err
}

// isTimeout reports whether a wait ended because its own timeout passed.
func isTimeout(err error) bool { return errors.Is(err, retry.ErrWaitTimeout) }
