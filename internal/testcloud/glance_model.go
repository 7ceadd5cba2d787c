package testcloud

import (
	"sort"
	"strings"
	"time"
)

// Image is a read-only snapshot of a Glance image, for test assertions.
type Image struct {
	ID, Name, Status, Visibility, Owner string
	Region                              string
	ContainerFormat, DiskFormat         string
	Properties                          map[string]string // user properties plus the os_glance_* keys Glance shows
	Tags                                []string
	MinDisk, MinRAM                     int
	Protected, Hidden                   bool
	Size                                int64 // -1 when there is no data yet
	VirtualSize                         int64 // 0 when unknown (null in the API)
	Checksum                            string
	OSHashAlgo, OSHashValue             string
	Stores                              []string
	CreatedAt, UpdatedAt                time.Time
	Members                             map[string]string // project ID -> member status
	Seeded                              bool
}

// Glance store names; file1 is the default. A second store lets copy-image do real work.
var glanceStores = []string{"file1", "file2"}

var (
	validDiskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	validContainerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
	validVisibilities     = []string{"public", "private", "shared", "community"}
)

// Keys a user may not set: read-only attributes, and the reserved ones Glance manages.
var glanceReadOnly = map[string]bool{
	"status": true, "checksum": true, "size": true, "virtual_size": true, "created_at": true,
	"updated_at": true, "self": true, "file": true, "schema": true, "direct_url": true, "locations": true,
	"os_hash_algo": true, "os_hash_value": true, "stores": true, "deleted": true, "deleted_at": true,
}

// Attributes that are image fields rather than free-form properties.
var glanceCoreAttrs = map[string]bool{
	"name": true, "visibility": true, "tags": true, "container_format": true, "disk_format": true,
	"min_disk": true, "min_ram": true, "protected": true, "os_hidden": true, "owner": true, "id": true,
}

type member struct {
	status           string
	created, updated time.Time
}

type image struct {
	Image
	dataPath  string // stored data, "" until active
	stagePath string // staged data for glance-direct
	// discarded: the image has data, but only its hashes were kept (Options.DiscardImageData).
	discarded  bool
	staged     *hashedData // what was staged for glance-direct (also when its file was discarded)
	importTask string      // the os_glance_import_task lock
	importing  string      // os_glance_importing_to_stores
	failed     string      // os_glance_failed_import
	// imported: an import was started once, so the two store properties above exist from then on (as
	// empty strings after a success), like the properties Glance writes.
	imported  bool
	members   map[string]*member
	uploadGen int // bumped by each upload so a stale one cannot finish
}

func (img *image) snapshot() Image {
	out := img.Image
	out.Properties = map[string]string{}
	for k, v := range img.Image.Properties {
		out.Properties[k] = v
	}
	for _, k := range []string{"os_glance_import_task", "os_glance_importing_to_stores", "os_glance_failed_import"} {
		if v, ok := img.property(k); ok {
			out.Properties[k] = v
		}
	}
	out.Tags = append([]string{}, img.Tags...)
	out.Stores = append([]string{}, img.Stores...)
	out.Members = map[string]string{}
	for p, m := range img.members {
		out.Members[p] = m.status
	}
	return out
}

// glanceNow is the current time as Glance stores it: to the second (its database columns have no
// fractions), so that sorting and ties behave as on a real cloud.
func glanceNow() time.Time { return time.Now().Truncate(time.Second) }

func (img *image) touch() { img.UpdatedAt = glanceNow() }

// property returns a property as Glance shows it, including the os_glance_* import bookkeeping.
func (img *image) property(k string) (string, bool) {
	switch k {
	case "os_glance_import_task":
		return img.importTask, img.importTask != ""
	case "os_glance_importing_to_stores":
		return img.importing, img.imported
	case "os_glance_failed_import":
		return img.failed, img.imported
	}
	v, ok := img.Properties[k]
	return v, ok
}

// json renders the image the way Glance v2 does: core fields plus flattened properties.
func (img *image) json() map[string]any {
	m := map[string]any{
		"id": img.ID, "name": nilIfEmpty(img.Name), "status": img.Status, "visibility": img.Visibility,
		"protected": img.Protected, "os_hidden": img.Hidden, "owner": img.Owner,
		"container_format": nilIfEmpty(img.ContainerFormat), "disk_format": nilIfEmpty(img.DiskFormat),
		"min_disk": img.MinDisk, "min_ram": img.MinRAM, "tags": append([]string{}, img.Tags...),
		"created_at": isoTime(img.CreatedAt), "updated_at": isoTime(img.UpdatedAt),
		"self": "/v2/images/" + img.ID, "file": "/v2/images/" + img.ID + "/file", "schema": "/v2/schemas/image",
		"checksum": nil, "os_hash_algo": nil, "os_hash_value": nil, "size": nil, "virtual_size": nil,
	}
	if img.Size >= 0 {
		m["size"] = img.Size
	}
	if img.VirtualSize > 0 {
		m["virtual_size"] = img.VirtualSize
	}
	if img.Checksum != "" {
		m["checksum"] = img.Checksum
		m["os_hash_algo"] = img.OSHashAlgo
		m["os_hash_value"] = img.OSHashValue
	}
	if len(img.Stores) > 0 {
		m["stores"] = strings.Join(img.Stores, ",")
	}
	for k, v := range img.Properties {
		m[k] = v
	}
	for _, k := range []string{"os_glance_import_task", "os_glance_importing_to_stores", "os_glance_failed_import"} {
		if v, ok := img.property(k); ok {
			m[k] = v
		}
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// canSee applies Glance's default visibility rules for GET.
func canSee(img *image, rc *reqCtx) bool {
	if rc.isAdmin() || img.Owner == rc.projectID() {
		return true
	}
	switch img.Visibility {
	case "public", "community":
		return true
	case "shared":
		_, ok := img.members[rc.projectID()]
		return ok
	}
	return false
}

func canModify(img *image, rc *reqCtx) bool { return rc.isAdmin() || img.Owner == rc.projectID() }

// sortedImages returns the region's images in a stable order (creation time, then ID).
func (reg *region) sortedImages() []*image {
	out := make([]*image, 0, len(reg.images))
	for _, img := range reg.images {
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ImagesByName returns the images named name in every region.
func (c *Cloud) ImagesByName(name string) []Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Image
	for _, rname := range c.opts.Regions {
		for _, img := range c.regions[rname].sortedImages() {
			if img.Name == name {
				out = append(out, img.snapshot())
			}
		}
	}
	return out
}

// GetImage returns one image by ID from any region.
func (c *Cloud) GetImage(id string) (Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, reg := range c.regions {
		if img := reg.images[id]; img != nil {
			return img.snapshot(), true
		}
	}
	return Image{}, false
}

// Images lists the images of one region ("" = the default region).
func (c *Cloud) Images(region string) []Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	if region == "" {
		region = c.opts.Regions[0]
	}
	reg := c.regions[region]
	if reg == nil {
		return nil
	}
	var out []Image
	for _, img := range reg.sortedImages() {
		out = append(out, img.snapshot())
	}
	return out
}

func (c *Cloud) findImage(id string) (*region, *image) {
	for _, reg := range c.regions {
		if img := reg.images[id]; img != nil {
			return reg, img
		}
	}
	return nil, nil
}
