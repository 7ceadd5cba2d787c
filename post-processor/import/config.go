//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

package importpp

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	"github.com/mitchellh/mapstructure"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// Config is the glance-import post-processor's configuration.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	access.AccessConfig `mapstructure:",squash"`
	SourceConfig        `mapstructure:",squash"`
	ImageConfig         `mapstructure:",squash"`
	LifecycleConfig     `mapstructure:",squash"`
	imagecopy.Config    `mapstructure:",squash"`

	ctx interpolate.Context
}

var (
	containerFormats = []string{"bare", "ovf", "aki", "ari", "ami", "ova", "docker", "compressed"}
	diskFormats      = []string{"auto", "raw", "vhd", "vhdx", "vmdk", "vdi", "iso", "ploop", "qcow2", "aki", "ari", "ami"}
	decompressModes  = []string{"auto", "true", "false"}
)

// defaultImportTimeout is the import_timeout default.
const defaultImportTimeout = 60 * time.Minute

// Prepare decodes and validates the configuration, with no network call.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	var md mapstructure.Metadata
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderID,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		Metadata:           &md,
	}, raws...)
	if err != nil {
		return nil, err
	}
	// Keys holds what the template set (a null HCL attribute is not set).
	set := map[string]bool{}
	for _, k := range md.Keys {
		set[k] = true
	}
	warnings, accessErrs := c.AccessConfig.Prepare()
	var errs *packersdk.MultiError
	for _, e := range accessErrs {
		errs = packersdk.MultiErrorAppend(errs, e)
	}
	for _, e := range c.ImageConfig.aliases(func(k string) bool { return set[k] }) {
		errs = packersdk.MultiErrorAppend(errs, e)
	}
	for _, e := range c.SourceConfig.prepare() {
		errs = packersdk.MultiErrorAppend(errs, e)
	}
	for _, e := range c.ImageConfig.prepare() {
		errs = packersdk.MultiErrorAppend(errs, e)
	}
	for _, e := range c.LifecycleConfig.prepare(&c.ImageConfig) {
		errs = packersdk.MultiErrorAppend(errs, e)
	}
	for _, e := range c.crossChecks() {
		errs = packersdk.MultiErrorAppend(errs, e)
	}
	errs = packersdk.MultiErrorAppend(errs, c.prepareCopies()...)
	if errs != nil && len(errs.Errors) > 0 {
		return warnings, errs
	}
	return warnings, nil
}

func (s *SourceConfig) prepare() []error {
	var errs []error
	if s.ImageSourceURL != "" && s.LocalFilePath != "" {
		errs = append(errs, errors.New("image_source_url and local_file_path conflict: set one of them"))
	}
	if s.ArtifactFile != "" && (s.ImageSourceURL != "" || s.LocalFilePath != "") {
		errs = append(errs, errors.New("artifact_file chooses among the input artifact's files; it conflicts with image_source_url and local_file_path"))
	}
	if s.ImageSourceURL != "" {
		u, err := url.Parse(s.ImageSourceURL)
		if err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				packersdk.LogSecretFilter.Set(pw)
			}
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("image_source_url %s must be an http or https URL", access.RedactURLString(s.ImageSourceURL)))
		}
	}
	if s.ImportMethod == "" {
		s.ImportMethod = string(glanceimport.MethodAuto)
	}
	if !slices.Contains(glanceimport.Methods, glanceimport.Method(s.ImportMethod)) {
		errs = append(errs, fmt.Errorf("import_method %q is not one of auto, web-download, glance-direct, upload", s.ImportMethod))
	}
	if s.WebDownload {
		switch glanceimport.Method(s.ImportMethod) {
		case glanceimport.MethodAuto, glanceimport.MethodWebDownload:
			s.ImportMethod = string(glanceimport.MethodWebDownload)
		default:
			errs = append(errs, fmt.Errorf("web_download = true conflicts with import_method %q", s.ImportMethod))
		}
	}

	s.Decompress = strings.ToLower(strings.TrimSpace(s.Decompress))
	if s.Decompress == "" {
		s.Decompress = "auto"
	}
	if !slices.Contains(decompressModes, s.Decompress) {
		errs = append(errs, fmt.Errorf("decompress %q is not one of auto, true, false", s.Decompress))
	}
	if _, err := glanceimport.ParseChecksum(s.Checksum); err != nil {
		errs = append(errs, fmt.Errorf("checksum: %w", err))
	}
	if (s.ImageSourceUsername == "") != (s.ImageSourcePassword == "") {
		errs = append(errs, errors.New("image_source_username and image_source_password must be set together"))
	}
	packersdk.LogSecretFilter.Set(s.ImageSourcePassword)
	for _, v := range s.ImageSourceHeaders {
		packersdk.LogSecretFilter.Set(v)
	}

	if s.ImportMethod == string(glanceimport.MethodWebDownload) {
		errs = append(errs, s.webDownloadConflicts()...)
	}
	if (s.ImageSourceUsername != "" || len(s.ImageSourceHeaders) > 0 || s.SourceInsecure || s.SourceCACert != "") && s.ImageSourceURL == "" {
		errs = append(errs, errors.New("image_source_username, image_source_password, image_source_headers, source_insecure and source_cacert need image_source_url"))
	}
	if s.SourceCACert != "" {
		// Read now, so a wrong file fails validation rather than the download.
		if _, err := access.NewDownloadClient(access.DownloadOptions{CACert: s.SourceCACert}); err != nil {
			errs = append(errs, fmt.Errorf("source_cacert: %w", err))
		}
	}
	if s.MaxImageSize != "" {
		n, err := glanceimport.ParseSize(s.MaxImageSize)
		if err != nil {
			errs = append(errs, fmt.Errorf("max_image_size: %w", err))
		}
		s.maxImageSize = n
	}
	return errs
}

// webDownloadConflicts lists the options that need the plugin to see the bytes,
// which web-download (Glance fetching the URL) rules out.
func (s *SourceConfig) webDownloadConflicts() []error {
	var errs []error
	name := "import_method = \"web-download\""
	if s.WebDownload {
		name = "web_download = true"
	}
	if s.ImageSourceURL == "" {
		errs = append(errs, fmt.Errorf("%s needs image_source_url", name))
	}
	if s.Decompress == "true" {
		errs = append(errs, fmt.Errorf("%s conflicts with decompress = true: Glance would store the data compressed", name))
	}
	if s.Checksum != "" && !strings.EqualFold(s.Checksum, "none") {
		errs = append(errs, fmt.Errorf("%s conflicts with checksum: the plugin never sees the bytes Glance downloads", name))
	}
	if s.MaxImageSize != "" {
		errs = append(errs, fmt.Errorf("%s conflicts with max_image_size: the plugin never sees the bytes Glance downloads", name))
	}
	if s.ImageSourceUsername != "" || s.ImageSourcePassword != "" || len(s.ImageSourceHeaders) > 0 {
		errs = append(errs, fmt.Errorf("%s conflicts with image_source_username, image_source_password and image_source_headers: Glance downloads anonymously", name))
	}
	if glanceimport.URLHasCredentials(s.ImageSourceURL) {
		errs = append(errs, fmt.Errorf("%s conflicts with credentials inside image_source_url (user info, or a signature or token in its query): Glance would keep them in its task records; let the plugin download it", name))
	}
	return errs
}

func (i *ImageConfig) prepare() []error {
	var errs []error
	if i.ContainerFormat == "" {
		i.ContainerFormat = "bare"
	}
	if !slices.Contains(containerFormats, i.ContainerFormat) {
		errs = append(errs, fmt.Errorf("container_format %q is not one of %s", i.ContainerFormat, strings.Join(containerFormats, ", ")))
	}
	if i.DiskFormat == "" {
		i.DiskFormat = "qcow2"
	}
	if !slices.Contains(diskFormats, i.DiskFormat) {
		errs = append(errs, fmt.Errorf("disk_format %q is not one of %s", i.DiskFormat, strings.Join(diskFormats, ", ")))
	}
	spec := i.spec()
	errs = append(errs, spec.Prepare(imagepolicy.ImportOptions)...)
	i.Visibility = spec.Visibility
	if len(i.Stores) > 0 && i.AllStores {
		errs = append(errs, errors.New("stores and all_stores conflict: set one of them"))
	}
	if i.AllStoresMustSucceed != nil && len(i.Stores) == 0 && !i.AllStores {
		errs = append(errs, errors.New("all_stores_must_succeed needs stores or all_stores"))
	}
	if i.ImportTimeout < 0 {
		errs = append(errs, fmt.Errorf("import_timeout must be positive (got %s)", i.ImportTimeout))
	}
	if i.ImportTimeout == 0 {
		i.ImportTimeout = defaultImportTimeout
	}
	return errs
}

// crossChecks are the rules that span the source and the image.
func (c *Config) crossChecks() []error {
	var errs []error
	if (len(c.Stores) > 0 || c.AllStores) && c.ImportMethod == string(glanceimport.MethodUpload) {
		errs = append(errs, errors.New("stores and all_stores need an import method: use import_method web-download, glance-direct or auto, not upload"))
	}
	if c.ContainerFormat == "compressed" && c.Decompress == "true" {
		errs = append(errs, errors.New("container_format = \"compressed\" conflicts with decompress = true: the stored data would not be compressed"))
	}
	if c.ImportMethod == string(glanceimport.MethodWebDownload) && c.DiskFormat == "auto" {
		if _, ok := glanceimport.FormatFromName(c.ImageSourceURL); !ok {
			errs = append(errs, errors.New("disk_format = \"auto\" with web-download needs a URL whose name ends in a known image extension; set disk_format"))
		}
	}
	return errs
}

// spec is the image the options describe, for the image policy.
func (i *ImageConfig) spec() imagepolicy.Spec {
	return imagepolicy.Spec{
		Name: i.ImageName, Visibility: i.Visibility, Properties: i.Properties, Tags: i.Tags,
		MinDisk: i.MinDisk, MinRAM: i.MinRAM, Protected: i.Protected, Hidden: i.Hidden,
		Members: i.ImageMembers, AutoAcceptMembers: i.ImageAutoAcceptMembers,
	}
}
