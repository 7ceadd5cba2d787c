// Package testcloud is an in-process OpenStack emulator (Keystone v3, Glance v2, Nova v2.1, Neutron v2,
// Cinder v3) with real SSH servers, fault injection, a request log and a leak report. It exists so that the
// plugin's builder, datasource and post-processor can be proven against a cloud that runs offline in
// seconds and can be made to fail at any step. See docs/testcloud.md.
package testcloud

import (
	"time"
)

// Default credentials of the seeded identities. They are part of the documented contract.
const (
	DefaultDomainName = "Default"
	AdminUser         = "admin"
	AdminPassword     = "admin-secret"
	AdminProject      = "admin"
	DemoUser          = "demo"
	DemoPassword      = "demo-secret"
	DemoProject       = "demo"
	AltUser           = "alt"
	AltPassword       = "alt-secret"
	AltProject        = "alt"
	DemoAppCredName   = "testcloud-appcred"
	BaseImageName     = "Fedora-Cloud-Base-37-1.7"
)

// Options configures a Cloud. The zero value gives fast defaults suited to tests.
type Options struct {
	// TokenLifetime is how long a Keystone token stays valid (default 1h). Tests set a few seconds to
	// prove that a client re-authenticates.
	TokenLifetime time.Duration

	// Delays of the asynchronous state machines (each defaults to 200ms).
	ServerBootDelay   time.Duration // BUILD -> ACTIVE
	ServerStopDelay   time.Duration // ACTIVE -> SHUTOFF and SHUTOFF -> ACTIVE
	ServerDeleteDelay time.Duration // delete accepted -> 404
	VolumeDelay       time.Duration // creating -> available, uploading -> available, deleting -> gone
	ImageDelay        time.Duration // snapshot saving -> active, import importing -> active
	// SnapshotFinishDelay is how long, after a snapshot's image turns active, Nova keeps the
	// server's task_state image_uploading (default 200ms). Deleting the server in that window
	// makes Nova delete the image, as a real Nova does.
	SnapshotFinishDelay time.Duration
	// ImportLockLinger is how long a successful import keeps os_glance_import_task after the image
	// turns active, as Glance's task does while it finishes (default 300ms).
	ImportLockLinger time.Duration

	// DataDir holds image data, staging areas and server disks. Default: a temporary folder removed by Close.
	DataDir string

	// DiscardImageData streams the image data clients send (PUT /file, PUT /stage) and web-download
	// fetches through the hashes (size, checksum, os_hash_value, virtual_size, gzip decompression of
	// imports) without writing it to DataDir, so that tests may move gigabytes at no disk cost. Such
	// an image's data cannot be read back: GET /file answers 404 and ImageData fails; servers and
	// volumes made from it get the minimal root. Snapshots and volume uploads are still stored.
	DiscardImageData bool

	// ImportMethods are the import methods the cloud offers, as Glance's enabled_import_methods
	// (default: glance-direct, web-download and copy-image; glance-download may be named too, see
	// GlanceDownload). /v2/info/import and the create reply's OpenStack-image-import-methods list
	// them; another method's import is 400 and, without glance-direct, PUT /stage is 404, as on Glance.
	ImportMethods []string

	// Seed asks for the contract resources (base image, flavors, networks, default security groups).
	// Seeding is on by default anyway; set NoSeed to get an empty cloud.
	Seed   bool
	NoSeed bool

	// SeedRoot is a folder or a tar(.gz) archive whose content becomes the base image's disk. Default: a
	// tiny root with a static busybox (when /bin/busybox is available) and a few /etc files.
	SeedRoot string

	// Regions lists the region names (default RegionOne and kz-ala-1). The first is the default region.
	Regions []string

	// ListenAddr is the address of the HTTP listener (default 127.0.0.1:0, a random free port).
	ListenAddr string

	// WebDownloadAllowedHosts and WebDownloadAllowedPorts filter web-download URIs like Glance's
	// [import_filtering_opts]. Defaults: hosts 127.0.0.1 and localhost; ports 80, 443, 8000, 8080.
	// An empty list means the defaults: AllowAnyWebDownloadHost and AllowAnyWebDownloadPort drop a filter,
	// as Glance does when both its allowed and disallowed lists are empty (AllowAnyWebDownloadPort suits
	// tests whose source servers listen on random ports).
	WebDownloadAllowedHosts []string
	WebDownloadAllowedPorts []int
	AllowAnyWebDownloadHost bool
	AllowAnyWebDownloadPort bool

	// GlanceDownload makes every region offer the glance-download import method (Glance 2023.1+): an
	// image pulls its data and formats from an image of another region of this cloud, read with the
	// importing user's token. Off by default, as on the Zed reference cloud.
	GlanceDownload bool

	// SSHPort is the port every server's SSH endpoint listens on. 0 means 22 when the process may bind it,
	// else one random free port shared by all server addresses (clients then need ssh_port).
	SSHPort int

	// SSHNoChroot disables the chroot even when running as root (commands then run on the host with the
	// server folder as working directory). Only for debugging.
	SSHNoChroot bool

	// Faults are installed at start, as if added with AddFault.
	Faults []Fault

	// Logf receives diagnostic lines (default: discarded).
	Logf func(format string, args ...any)
}

func (o *Options) applyDefaults() {
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	def := func(d *time.Duration) {
		if *d <= 0 {
			*d = 200 * time.Millisecond
		}
	}
	def(&o.ServerBootDelay)
	def(&o.ServerStopDelay)
	def(&o.ServerDeleteDelay)
	def(&o.VolumeDelay)
	def(&o.ImageDelay)
	def(&o.SnapshotFinishDelay)
	if o.ImportLockLinger <= 0 {
		o.ImportLockLinger = 300 * time.Millisecond
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"RegionOne", "kz-ala-1"}
	}
	if o.ListenAddr == "" {
		o.ListenAddr = "127.0.0.1:0"
	}
	if len(o.WebDownloadAllowedHosts) == 0 {
		o.WebDownloadAllowedHosts = []string{"127.0.0.1", "localhost"}
	}
	if len(o.WebDownloadAllowedPorts) == 0 {
		o.WebDownloadAllowedPorts = []int{80, 443, 8000, 8080}
	}
	if o.ImportMethods == nil {
		o.ImportMethods = append([]string{}, defaultImportMethods...)
	}
	if o.GlanceDownload && !contains(o.ImportMethods, methodGlanceDownload) {
		o.ImportMethods = append(o.ImportMethods, methodGlanceDownload)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}
