// Package glanceimport creates a Glance image from a URL, a local file or a stream:
// it chooses the import method, streams the data through verification and
// decompression with bounded memory, waits for Glance to finish, reports failures
// with Glance's own reason, and deletes the half-made image when anything fails.
// The glance-import post-processor and the builder's external source image both
// use it:
//
//	client, _ := sess.Image() // a *gophercloud.ServiceClient from access.Session
//	res, err := glanceimport.Import(ctx, glanceimport.NewGlance(client), glanceimport.Request{
//		Source: glanceimport.Source{URL: url},        // or File, or Reader+Name+Size
//		Image:  glanceimport.ImageSpec{Name: name},    // bare/qcow2/private by default
//		Track:  func(n string, total int64, r io.ReadCloser) io.ReadCloser { return ui.TrackProgress(n, 0, max(total, 0), r) },
//		Say:    func(line string) { ui.Say(line) },
//	})
//	// res.Image is active; on error nothing is left in Glance.
package glanceimport

import (
	"io"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// Method is how the data reaches Glance.
type Method string

const (
	// MethodAuto picks web-download when Glance can fetch the URL as is, else upload
	// (glance-direct when stores are requested).
	MethodAuto Method = "auto"
	// MethodWebDownload lets Glance fetch the URL itself.
	MethodWebDownload Method = "web-download"
	// MethodGlanceDirect stages the data, then imports it (import plugins run).
	MethodGlanceDirect Method = "glance-direct"
	// MethodUpload sends the data with PUT /file.
	MethodUpload Method = "upload"
)

// Methods lists the valid Method values, for validation messages.
var Methods = []Method{MethodAuto, MethodWebDownload, MethodGlanceDirect, MethodUpload}

// DecompressMode says whether the stream is decompressed on the way.
type DecompressMode string

const (
	DecompressAuto   DecompressMode = "auto"  // when the first bytes say gzip, bzip2, xz or zstd
	DecompressAlways DecompressMode = "true"  // the data must be compressed
	DecompressNever  DecompressMode = "false" // upload the bytes as they are
)

// ImageSpec is the image to create.
type ImageSpec struct {
	Name            string
	ContainerFormat string // default bare
	DiskFormat      string // default qcow2; "auto" detects from the data
	Visibility      string // default private
	Properties      map[string]string
	Tags            []string
	MinDisk         int
	MinRAM          int
	// Protected is set once the image is active, so a failed import can still be
	// cleaned up.
	Protected bool
	Hidden    bool
	// Members are projects the image is shared with once active.
	Members           []string
	AutoAcceptMembers bool
}

// Request is one import.
type Request struct {
	Source     Source
	Method     Method         // default auto
	Decompress DecompressMode // default auto
	// Checksum is the expected digest of the source bytes, in ParseChecksum's syntax.
	Checksum string
	Image    ImageSpec

	Stores               []string
	AllStores            bool
	AllStoresMustSucceed *bool

	// MaxImageSize stops the import when the image data (after decompression)
	// grows past this many bytes, deleting the partial image; 0 means no limit.
	// A limit makes the plugin stream the data itself (never web-download).
	MaxImageSize int64

	// Force replaces existing images of the name once the new one is active;
	// without it an existing name fails the import before any data moves.
	Force bool
	// KeepOlder leaves the older images of the name for the caller to replace
	// (Result.Older), once what follows the import succeeded too (copy_to).
	KeepOlder bool
	// KeepFailedImage leaves the half-made image behind on failure.
	KeepFailedImage bool
	// OwnerID is the project the credentials are scoped to: name checks,
	// replacement and lost-create clean-up only ever look at its images. Without
	// it they refuse (imagepolicy.ErrProjectUnknown).
	OwnerID string
	// Marker is this run's marker, set as the new image's packer_build_uuid
	// property (the builder passes its build UUID); "" makes a new one. Clean-up
	// after a create call whose reply was lost deletes only an image with it.
	Marker string
	// Timeout bounds the whole import; <= 0 means 60 minutes.
	Timeout time.Duration

	// Track wraps the source stream in a progress display (Packer's
	// ui.TrackProgress); nil shows none.
	Track func(name string, total int64, r io.ReadCloser) io.ReadCloser
	// Say reports phases to the user; nil logs them.
	Say func(line string)
	// LogEvery is the interval of progress lines in the log; default 15s.
	LogEvery time.Duration
}

// Result describes a finished import.
type Result struct {
	// Image is the active image, as Glance last reported it.
	Image  *Image
	Method Method
	// Compression is what the plugin undid on the way (empty for none).
	Compression Compression
	// SourceBytes and UploadedBytes count the data read and sent (0 for web-download).
	SourceBytes   int64
	UploadedBytes int64
	// SourceChecksum is the verified checksum ("sha256:…"), empty when none was asked.
	SourceChecksum string
	// UploadedSHA512 is the hex SHA-512 of the bytes sent.
	UploadedSHA512 string
	// Replaced lists the IDs of older images of the same name deleted by Force.
	Replaced []string
	// Older are the images of the same name Force would replace, left in place
	// with KeepOlder.
	Older []imagepolicy.Image
}

// DefaultTimeout bounds an import when the request gives no timeout.
const DefaultTimeout = 60 * time.Minute
