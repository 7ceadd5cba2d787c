package glance

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepRunServer(t *testing.T) {
	prepared := func(t *testing.T, raw map[string]interface{}) *testEnv {
		e := newTestEnv(t, raw)
		e.state.Put(stateFlavorID, "flavor-small")
		e.state.Put(stateSourceImage, e.fake.images["img-fedora"])
		e.state.Put(stateNetworks, []NetworkInfo{{ID: "net-private", Name: "private"}})
		e.state.Put(statePorts, []PortInfo{{ID: "port-a", NetworkID: "net-x"}})
		e.state.Put(stateSecurityGroups, []string{"sg-default"})
		e.state.Put(stateKeyPairName, "kp")
		return e
	}
	t.Run("spec carries every option", func(t *testing.T) {
		userData := filepath.Join(t.TempDir(), "ud")
		if err := os.WriteFile(userData, []byte("#cloud-config"), 0o600); err != nil {
			t.Fatal(err)
		}
		e := prepared(t, with("availability_zone", "az1", "config_drive", true, "user_data_file", userData,
			"instance_metadata", map[string]string{"team": "platform"}))
		s := &stepRunServer{}
		e.mustRun(t, s)
		id := stringOf(e.state, stateServerID)
		got := e.fake.servers[id].spec
		want := ServerSpec{
			Name: "packer_0000-uuid_server", ImageID: "img-fedora", FlavorID: "flavor-small",
			Networks: []string{"net-private"}, Ports: []string{"port-a"}, SecurityGroups: []string{"sg-default"},
			AvailabilityZone: "az1", UserData: []byte("#cloud-config"), ConfigDrive: true, KeyName: "kp",
			Metadata: map[string]string{"team": "platform", "packer_build_uuid": "0000-uuid"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("spec = %+v\nwant %+v", got, want)
		}
		if stringOf(e.state, stateInstanceID) != id {
			t.Error("instance_id not set")
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("boots from the volume", func(t *testing.T) {
		e := prepared(t, with("use_blockstorage_volume", true, "instance_name", "builder"))
		e.state.Put(stateVolumeID, "vol-1")
		e.mustRun(t, &stepRunServer{})
		spec := e.fake.servers[stringOf(e.state, stateServerID)].spec
		if spec.ImageID != "" || spec.VolumeID != "vol-1" || spec.Name != "builder" {
			t.Errorf("spec = %+v", spec)
		}
	})
	t.Run("Nova refuses", func(t *testing.T) {
		e := prepared(t, minimal())
		e.fake.fail["CreateServer"] = errServer
		s := &stepRunServer{}
		e.mustHalt(t, s, `creating server "packer_0000-uuid_server"`)
		s.Cleanup(e.state)
		if e.fake.called("DeleteServer") != 0 {
			t.Error("deleted a server it did not create")
		}
	})
	t.Run("cleanup waits until the server is gone, with force_delete", func(t *testing.T) {
		e := prepared(t, with("force_delete", true))
		s := &stepRunServer{}
		e.mustRun(t, s)
		s.Cleanup(e.state)
		e.noLeaks(t)
		if e.fake.called("DeleteServer") != 1 || e.fake.called("GetServer") == 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
		if last := e.fake.calls[len(e.fake.calls)-2]; last[:len("DeleteServer")] != "DeleteServer" || last[len(last)-4:] != "true" {
			t.Errorf("force_delete not used: %v", e.fake.calls)
		}
	})
	t.Run("a delete error that outlasted the client's retries is reported", func(t *testing.T) {
		e := prepared(t, minimal())
		s := &stepRunServer{}
		e.mustRun(t, s)
		e.fake.fail["DeleteServer"] = errServer
		s.Cleanup(e.state)
		if !contains(e.out.String(), "delete it by hand") && !contains(e.out.String(), "Error") {
			t.Errorf("no error shown:\n%s", e.out)
		}
	})
	t.Run("a snapshot the build keeps is finished by Nova before the server goes", func(t *testing.T) {
		e := prepared(t, minimal())
		s := &stepRunServer{}
		e.mustRun(t, s)
		id := stringOf(e.state, stateServerID)
		e.state.Put(stateImageID, "img-new")
		e.fake.servers[id].tasks = []string{"image_uploading", "image_uploading", ""}
		e.fake.calls = nil
		s.Cleanup(e.state)
		e.noLeaks(t)
		want := []string{"GetServer " + id, "GetServer " + id, "GetServer " + id, "DeleteServer " + id + " false"}
		if len(e.fake.calls) < 4 || !reflect.DeepEqual(e.fake.calls[:4], want) {
			t.Errorf("calls = %v, want first %v", e.fake.calls, want)
		}
	})
	t.Run("a failed build does not wait for the snapshot it deletes anyway", func(t *testing.T) {
		e := prepared(t, minimal())
		s := &stepRunServer{}
		e.mustRun(t, s)
		id := stringOf(e.state, stateServerID)
		e.state.Put(stateImageID, "img-new")
		e.state.Put(multistep.StateHalted, true)
		e.fake.servers[id].tasks = []string{"image_uploading"}
		e.fake.calls = nil
		s.Cleanup(e.state)
		if len(e.fake.calls) == 0 || !strings.HasPrefix(e.fake.calls[0], "DeleteServer") {
			t.Errorf("calls = %v, want the delete first", e.fake.calls)
		}
	})
	t.Run("no second delete after the volume flow deleted it", func(t *testing.T) {
		e := prepared(t, minimal())
		s := &stepRunServer{}
		e.mustRun(t, s)
		e.state.Put(stateServerDeleted, true)
		s.Cleanup(e.state)
		if e.fake.called("DeleteServer") != 0 {
			t.Error("deleted twice")
		}
	})
}
