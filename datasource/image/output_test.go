package image

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
)

// An image as Glance lists it, decoded by gophercloud: numbers and lists in
// the properties arrive as float64 and []any.
const glanceImageJSON = `{
  "id": "b2173dd3-7ad6-4362-baa6-a68bce3565cb", "name": "Fedora-Cloud-Base-37-1.7",
  "status": "active", "visibility": "public", "owner": "p-admin", "protected": true, "os_hidden": false,
  "container_format": "bare", "disk_format": "qcow2", "min_disk": 5, "min_ram": 512,
  "size": 12345678901, "virtual_size": 5368709120, "checksum": "abc",
  "os_hash_algo": "sha512", "os_hash_value": "ff00",
  "tags": ["golden"], "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-03T00:00:00Z",
  "os_distro": "fedora", "hw_cpu_cores": 4, "stores": "ceph,file", "locations": [{"url": "rbd://x"}],
  "empty": null, "self": "/v2/images/b2", "file": "/v2/images/b2/file", "schema": "/v2/schemas/image"
}`

func TestOutputFromRendersEveryField(t *testing.T) {
	var img images.Image
	if err := json.Unmarshal([]byte(glanceImageJSON), &img); err != nil {
		t.Fatal(err)
	}
	got := OutputFrom(&img, "RegionOne")
	want := DatasourceOutput{
		ID: "b2173dd3-7ad6-4362-baa6-a68bce3565cb", Name: "Fedora-Cloud-Base-37-1.7",
		CreatedAt: "2026-01-02T03:04:05Z", UpdatedAt: "2026-01-03T00:00:00Z",
		Owner: "p-admin", Visibility: "public", Status: "active", Tags: []string{"golden"},
		Properties: map[string]string{
			"os_distro": "fedora", "hw_cpu_cores": "4", "stores": "ceph,file",
			"locations": `[{"url":"rbd://x"}]`, "empty": "null",
			"os_hash_algo": "sha512", "os_hash_value": "ff00",
		},
		ContainerFormat: "bare", DiskFormat: "qcow2", MinDisk: 5, MinRAM: 512,
		Size: 12345678901, Checksum: "abc", OSHashAlgo: "sha512", OSHashValue: "ff00",
		Protected: true, Hidden: false, Region: "RegionOne",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OutputFrom =\n%+v\nwant\n%+v", got, want)
	}
}

func TestOutputConvertsToTheOutputSpec(t *testing.T) {
	// No tags, no properties.
	img := images.Image{ID: "i", Name: "n", Status: images.ImageStatusActive, ContainerFormat: "bare", DiskFormat: "qcow2",
		SizeBytes: 1000, CreatedAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)}
	var d Datasource
	v := hcl2helper.HCL2ValueFromConfig(OutputFrom(&img, ""), d.OutputSpec())
	if v.IsNull() || !v.GetAttr("tags").IsKnown() || v.GetAttr("id").AsString() != "i" {
		t.Fatalf("output value %#v", v)
	}
	if n := v.GetAttr("size").AsBigFloat(); n.String() != "1000" {
		t.Errorf("size = %s", n)
	}
}
