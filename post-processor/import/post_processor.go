// Package importpp is the glance-import post-processor: it imports an image into
// Glance from a URL, a local file or another builder's artifact, through the
// shared engine in internal/glanceimport.
package importpp

import (
	"context"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/uuid"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// BuilderID identifies artifacts made by this post-processor.
const BuilderID = "packer-glance.glance-import"

// PostProcessor implements packersdk.PostProcessor.
type PostProcessor struct {
	config Config
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
	sess, err := c.AccessConfig.Authenticate(ctx)
	if err != nil {
		return nil, true, false, err
	}
	if src.HTTPClient, err = sess.DownloadClient(c.downloadOptions()); err != nil {
		return nil, true, false, err
	}
	glance := osapi.New(sess).Glance()
	marker := uuid.TimeOrderedUUID()
	copier, err := c.copier(ctx, sess, marker, ui)
	if err != nil {
		return nil, true, false, err
	}
	ui.Say(fmt.Sprintf("Importing %s into Glance as %q", sourceID, c.ImageName))
	res, err := glanceimport.Import(ctx, glance, glanceimport.Request{
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
		OwnerID:              sess.Project.ID,
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
	copies, err := c.copy(ctx, copier, glance, sess.Project.ID, img, res.Older, ui)
	if err != nil {
		return nil, true, false, err
	}
	a := &Artifact{
		ImageID:        img.ID,
		ImageName:      img.Name,
		Region:         sess.Region,
		Checksum:       glanceChecksum(img),
		SourceChecksum: res.SourceChecksum,
		SourceID:       sourceID,
		deleteImage:    glance.DeleteImage,
	}
	a.stateData = map[string]interface{}{
		"generated_data": map[string]interface{}{
			"ImageID":   a.ImageID,
			"ImageName": a.ImageName,
			"Checksum":  a.Checksum,
		},
		"import_method": string(res.Method),
	}
	a.addCopies(imageRegion(sess, glance), copies)
	return a, true, false, nil
}

// imageRegion is the region of the session's Glance: the one the session
// names, else the catalog's.
func imageRegion(sess *access.Session, glance *osapi.Glance) string {
	if ep, err := glance.Endpoint(); err == nil {
		return sess.CatalogRegion(ep)
	}
	return sess.Region
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
