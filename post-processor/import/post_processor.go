// Package importpp is the glance-import post-processor: it imports an image into
// Glance from a URL, a local file or another builder's artifact, through the
// shared engine in internal/glanceimport.
package importpp

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/uuid"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// BuilderID identifies artifacts made by this post-processor.
const BuilderID = "packer-glance.glance-import"

// PostProcessor implements packersdk.PostProcessor.
type PostProcessor struct {
	config Config
	// newCloud connects to the cloud; tests replace it to reach an in-process
	// one. nil means connect.
	newCloud func(ctx context.Context, c *Config) (*cloud, error)
}

// cloud is what PostProcess uses of a connection: the engine's Glance client,
// the HTTP client of the plugin's own source downloads, and the session's
// region and project.
type cloud struct {
	glance   glanceimport.Glance
	download *http.Client
	region   string
	project  string
	// copies is where copy_to copies the image from (nil without copy_to).
	copies *imagecopy.Origin
}

// connect logs in with the configured credentials.
func connect(ctx context.Context, c *Config) (*cloud, error) {
	sess, err := c.AccessConfig.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return sessionCloud(sess, c)
}

// sessionCloud makes PostProcess's clients from a logged-in session.
func sessionCloud(sess *access.Session, c *Config) (*cloud, error) {
	download, err := sess.DownloadClient(c.downloadOptions())
	if err != nil {
		return nil, err
	}
	cl := &cloud{glance: osapi.New(sess).Glance(), download: download, region: sess.Region, project: sess.Project.ID}
	if len(c.CopyTo) > 0 {
		cl.copies = imagecopy.FromSession(sess, c.APIRetryTimeout)
	}
	return cl, nil
}

// imageRegion is the region of the image, for the artifact's list of images:
// the session's, else the catalog's name of it.
func (cl *cloud) imageRegion() string {
	if cl.region == "" && cl.copies != nil {
		return cl.copies.Region
	}
	return cl.region
}

var _ packersdk.PostProcessor = new(PostProcessor)

// ConfigSpec describes the post-processor's HCL2 schema.
func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Configure validates the configuration; it makes no network call.
func (p *PostProcessor) Configure(raws ...interface{}) error {
	warnings, err := p.config.Prepare(raws...)
	for _, w := range warnings {
		log.Printf("[WARN] glance-import: %s", w)
	}
	return err
}

// PostProcess imports the image and returns it as the new artifact. The input
// artifact is kept unless the template's keep_input_artifact says otherwise.
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, input packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	c := &p.config
	src, sourceID, err := c.source(input)
	if err != nil {
		return nil, true, false, err
	}
	newCloud := p.newCloud
	if newCloud == nil {
		newCloud = connect
	}
	cl, err := newCloud(ctx, c)
	if err != nil {
		return nil, true, false, err
	}
	src.HTTPClient = cl.download
	marker := uuid.TimeOrderedUUID()
	copier, err := c.copier(ctx, cl, marker, ui)
	if err != nil {
		return nil, true, false, err
	}
	ui.Say(fmt.Sprintf("Importing %s into Glance as %q", sourceID, c.ImageName))
	res, err := glanceimport.Import(ctx, cl.glance, glanceimport.Request{
		Source:               src,
		Method:               glanceimport.Method(c.ImportMethod),
		Decompress:           glanceimport.DecompressMode(c.Decompress),
		Checksum:             c.Checksum,
		Image:                c.imageSpec(),
		Stores:               c.Stores,
		AllStores:            c.AllStores,
		AllStoresMustSucceed: c.AllStoresMustSucceed,
		MaxImageSize:         c.maxImageSize,
		Force:                c.ImageForce,
		KeepOlder:            copier.Enabled(),
		KeepFailedImage:      c.KeepFailedImage,
		Marker:               marker,
		OwnerID:              cl.project,
		Timeout:              c.ImportTimeout,
		Track: func(name string, total int64, r io.ReadCloser) io.ReadCloser {
			if total < 0 {
				total = 0 // unknown length: the bar shows bytes and rate only
			}
			return ui.TrackProgress(name, 0, total, r)
		},
		Say: func(line string) { ui.Sayf("%s", line) },
	})
	if err != nil {
		return nil, true, false, err
	}
	img := res.Image
	ui.Sayf("Image %q is active: ID %s, %s, %s/%s", img.Name, img.ID, sizeText(img.SizeBytes), img.DiskFormat, img.ContainerFormat)
	imgs := imagepolicy.On(cl.glance, cl.project)
	copies, err := c.copy(ctx, copier, imgs, img, res.Older, ui)
	if err != nil {
		return nil, true, false, err
	}
	c.retire(ctx, ui, imgs, img.ID, copies.ImageIDs())
	c.retireCopies(ctx, ui, img.ID, copies)
	a := &Artifact{
		ImageID:        img.ID,
		ImageName:      img.Name,
		Region:         cl.region,
		Checksum:       glanceChecksum(img),
		SourceChecksum: res.SourceChecksum,
		SourceID:       sourceID,
		deleteImage:    cl.glance.DeleteImage,
	}
	a.stateData = map[string]interface{}{
		"generated_data": map[string]interface{}{
			"ImageID":   a.ImageID,
			"ImageName": a.ImageName,
			"Checksum":  a.Checksum,
		},
		"import_method": string(res.Method),
	}
	a.addCopies(cl.imageRegion(), copies)
	return a, true, false, nil
}

// retire applies keep_latest once the new image is active. Nothing it meets
// fails the import: the new image stands, and what could not be retired is
// reported.
func (c *Config) retire(ctx context.Context, ui packersdk.Ui, imgs imagepolicy.Images, newID string, copyIDs []string) {
	r := c.retention()
	if !r.Enabled() {
		return
	}
	ui.Sayf("Keeping the %d newest images of family %q (retire_action = %s)...", r.Keep, r.Family, r.Action)
	if _, err := imagepolicy.Retire(ctx, imgs, r, newID, copyIDs, ui.Say); err != nil {
		ui.Error("Warning: " + err.Error() + " (nothing was retired)")
	}
}

// source picks the data to import: the configured URL or file, else one file of
// the input artifact.
func (c *Config) source(input packersdk.Artifact) (glanceimport.Source, string, error) {
	s := glanceimport.Source{
		Username: c.ImageSourceUsername,
		Password: c.ImageSourcePassword,
		Headers:  c.ImageSourceHeaders,
	}
	switch {
	case c.ImageSourceURL != "":
		s.URL = c.ImageSourceURL
		return s, access.RedactURLString(c.ImageSourceURL), nil
	case c.LocalFilePath != "":
		s.File = c.LocalFilePath
		return s, c.LocalFilePath, nil
	}
	if input == nil {
		return s, "", fmt.Errorf("no image source: set image_source_url or local_file_path, or run after a build whose artifact is an image file")
	}
	file, err := pickArtifactFile(input.Files(), c.ArtifactFile)
	if err != nil {
		return s, "", fmt.Errorf("input artifact %s (from %s): %w", input.Id(), input.BuilderId(), err)
	}
	s.File = file
	return s, file, nil
}

// pickArtifactFile chooses the image file among an artifact's files.
func pickArtifactFile(files []string, want string) (string, error) {
	if want != "" {
		for _, f := range files {
			if f == want || filepath.Base(f) == want || filepath.Clean(f) == filepath.Clean(want) {
				return f, nil
			}
		}
		return "", fmt.Errorf("artifact_file %q is not among its files (%s)", want, listOrNone(files))
	}
	var found []string
	for _, f := range files {
		if glanceimport.IsImageFileName(f) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("none of its files is an image (.qcow2, .raw, .img, .vmdk, .vhd, .vhdx, .iso): %s; set artifact_file, image_source_url or local_file_path", listOrNone(files))
	}
	return "", fmt.Errorf("it has several image files (%s): choose one with artifact_file", strings.Join(found, ", "))
}

func listOrNone(files []string) string {
	if len(files) == 0 {
		return "it has no files"
	}
	return strings.Join(files, ", ")
}

func (c *Config) imageSpec() glanceimport.ImageSpec {
	i := &c.ImageConfig
	return glanceimport.ImageSpec{
		Name:              i.ImageName,
		ContainerFormat:   i.ContainerFormat,
		DiskFormat:        i.DiskFormat,
		Visibility:        i.Visibility,
		Properties:        i.Properties,
		Tags:              i.Tags,
		MinDisk:           i.MinDisk,
		MinRAM:            i.MinRAM,
		Protected:         i.Protected,
		Hidden:            i.Hidden,
		Members:           i.ImageMembers,
		AutoAcceptMembers: i.ImageAutoAcceptMembers,
	}
}

// downloadOptions is how the plugin's own downloads trust TLS servers: only
// source_insecure turns checks off (the API's insecure is about the cloud).
func (c *Config) downloadOptions() access.DownloadOptions {
	return access.DownloadOptions{Insecure: c.SourceInsecure, CACert: c.SourceCACert}
}

func sizeText(n int64) string {
	return fmt.Sprintf("%d bytes", n)
}
