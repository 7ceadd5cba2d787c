package glance

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// fakeCloud is an in-memory cloud that records every call. Resources move through
// scripted statuses: each read of a server, volume or image takes the next status
// of its script and then keeps the last one.
type fakeCloud struct {
	mu    sync.Mutex
	calls []string
	// fail makes the named method (e.g. "CreateServer") return the error.
	fail map[string]error
	// failAfter makes the method fail only from its nth call on (1-based).
	failAfter map[string]int
	count     map[string]int
	// onCall runs after each recorded call (to cancel a context mid-build).
	onCall func(method string)
	// lose makes a create method do its work and then fail with the error, as
	// when the reply is lost (a 5xx from a proxy, a broken connection, Ctrl-C).
	lose map[string]error
	// loseFrom makes lose apply only from the method's nth call on (1-based).
	loseFrom map[string]int

	flavors        map[string]string // name -> id
	networks       []NetworkInfo
	subnets        []SubnetInfo
	ports          []PortInfo
	secGroups      map[string]string // name -> id
	floatingIPs    map[string]*FloatingIP
	fipDescription map[string]string // floating IP id -> description
	images         map[string]*Image
	servers        map[string]*fakeServer
	volumes        map[string]*fakeVolume
	keypairs       map[string]string
	serverScript   []string // statuses after create; default BUILD, ACTIVE
	stopScript     []string // statuses after stop; default SHUTOFF
	imageScript    []string // statuses of new images; default queued, saving, active
	volumeScript   []string // default creating, available
	passwordScript []string
	members        map[string][]string
	updates        map[string][]ImageUpdate
	imgScripts     map[string][]string // image id -> remaining statuses
	nextID         int
}

type fakeServer struct {
	spec   ServerSpec
	script []string
	srv    Server
	// tasks are the task states GetServer reports, one per read (the last sticks); none: idle.
	tasks []string
}

type fakeVolume struct {
	spec   VolumeSpec
	script []string
}

// Cleanup's second look for a lost create need not wait long against the fake.
func init() { lostLookupPause = 10 * time.Millisecond }

func newFakeCloud() *fakeCloud {
	f := &fakeCloud{
		fail: map[string]error{}, failAfter: map[string]int{}, count: map[string]int{}, lose: map[string]error{}, loseFrom: map[string]int{},
		flavors:  map[string]string{"m1.small": "flavor-small"},
		networks: []NetworkInfo{{ID: "net-private", Name: "private"}, {ID: "net-public", Name: "public", External: true}},
		subnets: []SubnetInfo{{ID: "sub-public", NetworkID: "net-public", CIDR: "203.0.113.0/24"},
			{ID: "sub-private", NetworkID: "net-private", CIDR: "10.0.5.0/24"}},
		secGroups:   map[string]string{"default": "sg-default"},
		floatingIPs: map[string]*FloatingIP{}, fipDescription: map[string]string{},
		images: map[string]*Image{
			"img-fedora": {ID: "img-fedora", Name: "Fedora-37", Status: "active", Visibility: "public", MinDisk: 3, SizeBytes: 2 * gib,
				Properties: map[string]string{"os_distro": "fedora"}},
		},
		servers: map[string]*fakeServer{}, volumes: map[string]*fakeVolume{}, keypairs: map[string]string{},
		members: map[string][]string{}, updates: map[string][]ImageUpdate{}, imgScripts: map[string][]string{},
	}
	return f
}

func httpError(code int) error {
	return gophercloud.ErrUnexpectedResponseCode{Method: "GET", URL: "http://fake", Expected: []int{200}, Actual: code, Body: []byte("fake error")}
}

var (
	errNotFound = httpError(http.StatusNotFound)
	errConflict = httpError(http.StatusConflict)
	errServer   = httpError(http.StatusInternalServerError)
)

// record notes the call and returns the injected error, if any.
func (f *fakeCloud) record(method string, args ...interface{}) error {
	f.mu.Lock()
	f.count[method]++
	n := f.count[method]
	parts := []string{method}
	for _, a := range args {
		parts = append(parts, fmt.Sprint(a))
	}
	f.calls = append(f.calls, strings.Join(parts, " "))
	err := f.fail[method]
	if after, ok := f.failAfter[method]; ok && n < after {
		err = nil
	}
	hook := f.onCall
	f.mu.Unlock()
	if hook != nil {
		hook(method)
	}
	return err
}

// called counts calls of a method.
func (f *fakeCloud) called(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[method]
}

func (f *fakeCloud) id(kind string) string {
	f.nextID++
	return fmt.Sprintf("%s-%d", kind, f.nextID)
}

func next(script *[]string) string {
	s := (*script)[0]
	if len(*script) > 1 {
		*script = (*script)[1:]
	}
	return s
}

// leaks lists every temporary resource still present, like the test cloud's report.
func (f *fakeCloud) leaks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.servers {
		out = append(out, "server "+id)
	}
	for id := range f.volumes {
		out = append(out, "volume "+id)
	}
	for name := range f.keypairs {
		out = append(out, "keypair "+name)
	}
	for name, id := range f.secGroups {
		if strings.HasPrefix(name, "packer_") {
			out = append(out, "security group "+id)
		}
	}
	for id, fip := range f.floatingIPs {
		if fip.PortID != "" || strings.HasPrefix(id, "fip-") {
			out = append(out, "floating ip "+id)
		}
	}
	for id := range f.images {
		if id != "img-fedora" && !strings.HasPrefix(id, "old-") {
			out = append(out, "image "+id)
		}
	}
	sort.Strings(out)
	return out
}

// ---- Compute ----

func (f *fakeCloud) FlavorID(ctx context.Context, nameOrID string) (string, error) {
	if err := f.record("FlavorID", nameOrID); err != nil {
		return "", err
	}
	if id, ok := f.flavors[nameOrID]; ok {
		return id, nil
	}
	return "", fmt.Errorf("no flavor named or with ID %q", nameOrID)
}

func (f *fakeCloud) CreateKeypair(ctx context.Context, name, publicKey string) error {
	if err := f.record("CreateKeypair", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keypairs[name] = publicKey
	return f.lose["CreateKeypair"]
}

func (f *fakeCloud) KeypairPublicKey(ctx context.Context, name string) (string, error) {
	if err := f.record("KeypairPublicKey", name); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key, ok := f.keypairs[name]
	if !ok {
		return "", errNotFound
	}
	return key, nil
}

func (f *fakeCloud) DeleteKeypair(ctx context.Context, name string) error {
	if err := f.record("DeleteKeypair", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keypairs[name]; !ok {
		return errNotFound
	}
	delete(f.keypairs, name)
	return nil
}

func (f *fakeCloud) CreateServer(ctx context.Context, spec ServerSpec) (string, error) {
	if err := f.record("CreateServer", spec.Name); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id("srv")
	script := append([]string(nil), f.serverScript...)
	if len(script) == 0 {
		script = []string{"BUILD", "ACTIVE"}
	}
	f.servers[id] = &fakeServer{spec: spec, script: script, srv: Server{ID: id,
		Addresses: []Address{{Network: "private", Addr: "10.0.0.5", Version: 4, Type: "fixed"}}}}
	if err := f.lose["CreateServer"]; err != nil && f.count["CreateServer"] >= f.loseFrom["CreateServer"] {
		return "", err
	}
	return id, nil
}

func (f *fakeCloud) ServersOfBuild(ctx context.Context, name, buildUUID string) ([]string, error) {
	if err := f.record("ServersOfBuild", name, buildUUID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, s := range f.servers {
		if s.spec.Name == name && s.spec.Metadata["packer_build_uuid"] == buildUUID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (f *fakeCloud) GetServer(ctx context.Context, id string) (*Server, error) {
	if err := f.record("GetServer", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[id]
	if !ok {
		return nil, errNotFound
	}
	out := s.srv
	out.Status = next(&s.script)
	if len(s.tasks) > 0 {
		out.TaskState = next(&s.tasks)
	}
	if out.Status == "ERROR" {
		out.Fault = "No valid host was found"
	}
	return &out, nil
}

func (f *fakeCloud) StopServer(ctx context.Context, id string) error {
	if err := f.record("StopServer", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[id]
	if !ok {
		return errNotFound
	}
	s.script = append([]string(nil), f.stopScript...)
	if len(s.script) == 0 {
		s.script = []string{"ACTIVE", "SHUTOFF"}
	}
	return nil
}

func (f *fakeCloud) DeleteServer(ctx context.Context, id string, force bool) error {
	if err := f.record("DeleteServer", id, force); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.servers[id]; !ok {
		return errNotFound
	}
	delete(f.servers, id)
	// The server's ports go with it, and so does any floating IP binding.
	for _, fip := range f.floatingIPs {
		if fip.PortID == "port-of-"+id {
			fip.PortID = ""
		}
	}
	return nil
}

func (f *fakeCloud) newImage(name string, props map[string]string) string {
	id := f.id("img")
	script := append([]string(nil), f.imageScript...)
	if len(script) == 0 {
		script = []string{"queued", "saving", "active"}
	}
	p := map[string]string{}
	for k, v := range props {
		p[k] = v
	}
	f.images[id] = &Image{ID: id, Name: name, Status: script[0], Visibility: "private", Properties: p}
	f.imgScripts[id] = script
	return id
}

func (f *fakeCloud) CreateServerImage(ctx context.Context, serverID, name string, metadata map[string]string) (string, error) {
	if err := f.record("CreateServerImage", serverID, name); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[serverID]
	if !ok {
		return "", errNotFound
	}
	// Nova copies the source image's properties to the snapshot, then the
	// call's metadata.
	id := f.newImage(name, merged(f.images[s.spec.ImageID], metadata))
	if err := f.lose["CreateServerImage"]; err != nil {
		return "", err
	}
	return id, nil
}

func (f *fakeCloud) ServerPassword(ctx context.Context, serverID string, key *rsa.PrivateKey) (string, error) {
	if err := f.record("ServerPassword", serverID); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.passwordScript) == 0 {
		return "", nil
	}
	return next(&f.passwordScript), nil
}

// ---- Network ----

func (f *fakeCloud) FindNetwork(ctx context.Context, nameOrID string) (*NetworkInfo, error) {
	if err := f.record("FindNetwork", nameOrID); err != nil {
		return nil, err
	}
	for _, n := range f.networks {
		if n.ID == nameOrID || n.Name == nameOrID {
			n := n
			return &n, nil
		}
	}
	return nil, fmt.Errorf("no network named or with ID %q", nameOrID)
}

func (f *fakeCloud) Subnets(ctx context.Context) ([]SubnetInfo, error) {
	if err := f.record("Subnets"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SubnetInfo(nil), f.subnets...), nil
}

func (f *fakeCloud) FindPort(ctx context.Context, nameOrID string) (*PortInfo, error) {
	if err := f.record("FindPort", nameOrID); err != nil {
		return nil, err
	}
	for _, p := range f.ports {
		if p.ID == nameOrID {
			p := p
			return &p, nil
		}
	}
	return nil, fmt.Errorf("no port named or with ID %q", nameOrID)
}

func (f *fakeCloud) FindSecurityGroup(ctx context.Context, nameOrID string) (string, error) {
	if err := f.record("FindSecurityGroup", nameOrID); err != nil {
		return "", err
	}
	if id, ok := f.secGroups[nameOrID]; ok {
		return id, nil
	}
	return "", fmt.Errorf("no security group named or with ID %q", nameOrID)
}

func (f *fakeCloud) CreateSecurityGroup(ctx context.Context, name, description string) (string, error) {
	if err := f.record("CreateSecurityGroup", name); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id("sg")
	f.secGroups[name] = id
	if err := f.lose["CreateSecurityGroup"]; err != nil {
		return "", err
	}
	return id, nil
}

func (f *fakeCloud) SecurityGroupsNamed(ctx context.Context, name string) ([]string, error) {
	if err := f.record("SecurityGroupsNamed", name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.secGroups[name]; ok {
		return []string{id}, nil
	}
	return nil, nil
}

func (f *fakeCloud) AllowIngress(ctx context.Context, groupID string, port int, cidr string) error {
	return f.record("AllowIngress", groupID, port, cidr)
}

func (f *fakeCloud) DeleteSecurityGroup(ctx context.Context, id string) error {
	if err := f.record("DeleteSecurityGroup", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, gid := range f.secGroups {
		if gid == id {
			delete(f.secGroups, name)
			return nil
		}
	}
	return errNotFound
}

func (f *fakeCloud) ServerPorts(ctx context.Context, serverID string) ([]PortInfo, error) {
	if err := f.record("ServerPorts", serverID); err != nil {
		return nil, err
	}
	return []PortInfo{{ID: "port-of-" + serverID, NetworkID: "net-private"}}, nil
}

func (f *fakeCloud) FindFloatingIP(ctx context.Context, addressOrID string) (*FloatingIP, error) {
	if err := f.record("FindFloatingIP", addressOrID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fip := range f.floatingIPs {
		if fip.ID == addressOrID || fip.Address == addressOrID {
			c := *fip
			return &c, nil
		}
	}
	return nil, fmt.Errorf("no floating IP %q", addressOrID)
}

func (f *fakeCloud) FreeFloatingIP(ctx context.Context, networkID string) (*FloatingIP, error) {
	if err := f.record("FreeFloatingIP", networkID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fip := range f.floatingIPs {
		if (networkID == "" || fip.NetworkID == networkID) && fip.PortID == "" {
			c := *fip
			return &c, nil
		}
	}
	return nil, nil
}

func (f *fakeCloud) CreateFloatingIP(ctx context.Context, networkID, portID, description string) (*FloatingIP, error) {
	if err := f.record("CreateFloatingIP", networkID, portID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id("fip")
	fip := &FloatingIP{ID: id, Address: "203.0.113.10", NetworkID: networkID, PortID: portID}
	f.floatingIPs[id] = fip
	f.fipDescription[id] = description
	if err := f.lose["CreateFloatingIP"]; err != nil {
		return nil, err
	}
	c := *fip
	return &c, nil
}

func (f *fakeCloud) FloatingIPsDescribed(ctx context.Context, description string) ([]string, error) {
	if err := f.record("FloatingIPsDescribed", description); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.floatingIPs {
		if f.fipDescription[id] == description {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (f *fakeCloud) AssociateFloatingIP(ctx context.Context, id, portID string) (*FloatingIP, error) {
	if err := f.record("AssociateFloatingIP", id, portID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fip, ok := f.floatingIPs[id]
	if !ok {
		return nil, errNotFound
	}
	fip.PortID = portID
	c := *fip
	return &c, nil
}

func (f *fakeCloud) DeleteFloatingIP(ctx context.Context, id string) error {
	if err := f.record("DeleteFloatingIP", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.floatingIPs[id]; !ok {
		return errNotFound
	}
	delete(f.floatingIPs, id)
	return nil
}

// ---- Images ----

func (f *fakeCloud) GetImage(ctx context.Context, id string) (*Image, error) {
	if err := f.record("GetImage", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok {
		return nil, errNotFound
	}
	if script, ok := f.imgScripts[id]; ok {
		img.Status = next(&script)
		f.imgScripts[id] = script
	}
	c := *img
	return &c, nil
}

// ListImages lets the real imagefind.Finder search the fake's images; the
// Finder checks every filter again on the client, so the fake may ignore them.
func (f *fakeCloud) ListImages(ctx context.Context, opts images.ListOptsBuilder, page func([]images.Image) bool) error {
	if err := f.record("ListImages"); err != nil {
		return err
	}
	f.mu.Lock()
	var list []images.Image
	for _, img := range f.images {
		props := map[string]any{}
		for k, v := range img.Properties {
			props[k] = v
		}
		list = append(list, images.Image{ID: img.ID, Name: img.Name, Status: images.ImageStatus(img.Status),
			Visibility: images.ImageVisibility(img.Visibility), Tags: img.Tags, CreatedAt: img.CreatedAt,
			Properties: props, Owner: img.Owner, MinDiskGigabytes: img.MinDisk, SizeBytes: img.SizeBytes})
	}
	f.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	page(list)
	return nil
}

func (f *fakeCloud) OwnedImagesNamed(ctx context.Context, name string) ([]Image, error) {
	if err := f.record("OwnedImagesNamed", name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Image
	for _, img := range f.images {
		if img.Name == name && img.Visibility != "public" {
			out = append(out, *img)
		}
	}
	return out, nil
}

// merged is the properties of src (nil: none) overlaid with extra.
func merged(src *Image, extra map[string]string) map[string]string {
	out := map[string]string{}
	if src != nil {
		for k, v := range src.Properties {
			out[k] = v
		}
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func (f *fakeCloud) OwnedImagesMarked(ctx context.Context, marker string) ([]Image, error) {
	if err := f.record("OwnedImagesMarked", marker); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Image
	for _, img := range f.images {
		if img.Properties[imagepolicy.MarkerProperty] == marker && img.Visibility != "public" {
			out = append(out, *img)
		}
	}
	return out, nil
}

// OwnedImagesInFamily lists the images of the family, hidden ones included; an
// image of another project (Owner set and not "demo") is never listed, as
// Glance's owner filter would not.
func (f *fakeCloud) OwnedImagesInFamily(ctx context.Context, family string) ([]Image, error) {
	if err := f.record("OwnedImagesInFamily", family); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Image
	for _, img := range f.images {
		if img.Properties[imagepolicy.FamilyProperty] == family && (img.Owner == "" || img.Owner == "demo") {
			out = append(out, *img)
		}
	}
	return out, nil
}

func (f *fakeCloud) UpdateImage(ctx context.Context, id string, u ImageUpdate) error {
	if err := f.record("UpdateImage", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok {
		return errNotFound
	}
	f.updates[id] = append(f.updates[id], u)
	*img = *u.Apply(*img)
	return nil
}

func (f *fakeCloud) DeleteImage(ctx context.Context, id string) error {
	if err := f.record("DeleteImage", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok {
		return errNotFound
	}
	if img.Protected {
		return httpError(http.StatusForbidden)
	}
	delete(f.images, id)
	return nil
}

func (f *fakeCloud) AddMember(ctx context.Context, imageID, project string) error {
	if err := f.record("AddMember", imageID, project); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[imageID] = append(f.members[imageID], project)
	return nil
}

func (f *fakeCloud) AcceptMember(ctx context.Context, imageID, project string) error {
	return f.record("AcceptMember", imageID, project)
}

// importImage stands in for the import engine: the image it makes is active at
// once; an injected "Import" error leaves nothing behind, as the engine does.
func (f *fakeCloud) importImage(ctx context.Context, req glanceimport.Request) (*glanceimport.Result, error) {
	if err := f.record("Import", req.Image.Name, req.Source.URL, req.Image.DiskFormat); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.newImage(req.Image.Name, req.Image.Properties)
	delete(f.imgScripts, id)
	f.images[id].Status = "active"
	img := f.images[id]
	return &glanceimport.Result{Image: &images.Image{ID: id, Name: img.Name, Status: images.ImageStatusActive}}, nil
}

// ---- Volumes ----

func (f *fakeCloud) CreateVolume(ctx context.Context, spec VolumeSpec) (string, error) {
	if err := f.record("CreateVolume", spec.Name, spec.SizeGiB); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id("vol")
	script := append([]string(nil), f.volumeScript...)
	if len(script) == 0 {
		script = []string{"creating", "available"}
	}
	f.volumes[id] = &fakeVolume{spec: spec, script: script}
	if err := f.lose["CreateVolume"]; err != nil {
		return "", err
	}
	return id, nil
}

func (f *fakeCloud) VolumesOfBuild(ctx context.Context, name, buildUUID string) ([]string, error) {
	if err := f.record("VolumesOfBuild", name, buildUUID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, v := range f.volumes {
		if v.spec.Name == name && v.spec.Metadata["packer_build_uuid"] == buildUUID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (f *fakeCloud) GetVolume(ctx context.Context, id string) (*Volume, error) {
	if err := f.record("GetVolume", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.volumes[id]
	if !ok {
		return nil, errNotFound
	}
	return &Volume{ID: id, Status: next(&v.script)}, nil
}

func (f *fakeCloud) DeleteVolume(ctx context.Context, id string) error {
	if err := f.record("DeleteVolume", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[id]; !ok {
		return errNotFound
	}
	delete(f.volumes, id)
	return nil
}

func (f *fakeCloud) UploadToImage(ctx context.Context, volumeID, imageName, diskFormat string, properties map[string]string) (string, error) {
	if err := f.record("UploadToImage", volumeID, imageName, diskFormat); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.volumes[volumeID]
	if !ok {
		return "", errNotFound
	}
	// Cinder copies the volume's image metadata (the source's, then what the
	// call set on the volume) into the image.
	id := f.newImage(imageName, merged(f.images[v.spec.ImageID], properties))
	if err := f.lose["UploadToImage"]; err != nil {
		return "", err
	}
	return id, nil
}

func (f *fakeCloud) cloud() *Cloud {
	return &Cloud{Compute: f, Network: f, Images: f, Finder: imagefind.Finder{Images: f}, Import: f.importImage, Volumes: f, Region: "RegionOne"}
}

// ---- harness ----

func init() {
	// Step tests poll without sleeping for long.
	transitionBackoff = retry.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Factor: 2}
	bootBackoff = transitionBackoff
	firstPollDelay = 0
	reachProbeEvery = time.Millisecond
}

// testEnv is a state bag wired to a fake cloud and a UI that keeps its output.
type testEnv struct {
	state *multistep.BasicStateBag
	fake  *fakeCloud
	cfg   *Config
	out   *bytes.Buffer
}

func newTestEnv(t *testing.T, raw map[string]interface{}) *testEnv {
	t.Helper()
	var b Builder
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	fake := newFakeCloud()
	out := new(bytes.Buffer)
	state := new(multistep.BasicStateBag)
	cfg := b.config
	state.Put(stateConfig, &cfg)
	state.Put(stateUI, &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: out, ErrorWriter: out})
	state.Put(stateHook, &packersdk.MockHook{})
	state.Put(stateCloud, fake.cloud())
	state.Put(stateBuildUUID, "0000-uuid")
	return &testEnv{state: state, fake: fake, cfg: &cfg, out: out}
}

// run runs one step and returns its action.
func (e *testEnv) run(t *testing.T, s multistep.Step) multistep.StepAction {
	t.Helper()
	return s.Run(context.Background(), e.state)
}

// mustRun runs a step that must succeed.
func (e *testEnv) mustRun(t *testing.T, s multistep.Step) {
	t.Helper()
	if a := e.run(t, s); a != multistep.ActionContinue {
		t.Fatalf("%T halted: %v\n%s", s, e.state.Get(stateError), e.out)
	}
}

// mustHalt runs a step that must fail with an error mentioning want.
func (e *testEnv) mustHalt(t *testing.T, s multistep.Step, want string) {
	t.Helper()
	if a := e.run(t, s); a != multistep.ActionHalt {
		t.Fatalf("%T continued, want a halt", s)
	}
	err, ok := e.state.Get(stateError).(error)
	if !ok {
		t.Fatalf("%T halted without an error value", s)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%T error %q does not mention %q", s, err, want)
	}
	e.state.Put(multistep.StateHalted, true)
}

func (e *testEnv) noLeaks(t *testing.T) {
	t.Helper()
	if l := e.fake.leaks(); len(l) > 0 {
		t.Fatalf("leaked: %v\ncalls: %v", l, e.fake.calls)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// testUI is a UI whose output is dropped.
func testUI() packersdk.Ui {
	return &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
}
