//go:generate packer-sdc struct-markdown

package importpp

// SourceConfig says where the image data comes from and how it is checked on the
// way. Exactly one source is used: `image_source_url`, `local_file_path`, or, with
// neither, the file of the input artifact (the artifact of the build this
// post-processor follows).
type SourceConfig struct {
	// An `http` or `https` URL of the image. Depending on `import_method`, Glance
	// fetches it itself (`web-download`) or the plugin streams it into Glance.
	// Conflicts with `local_file_path`.
	ImageSourceURL string `mapstructure:"image_source_url" required:"false"`
	// A local image file to upload. Conflicts with `image_source_url`.
	LocalFilePath string `mapstructure:"local_file_path" required:"false"`
	// With neither `image_source_url` nor `local_file_path`, the input artifact's file
	// to import, by path or base name. Defaults to the single artifact file whose
	// extension is `.qcow2`, `.raw`, `.img`, `.vmdk`, `.vhd`, `.vhdx` or `.iso`
	// (optionally followed by `.gz`, `.bz2`, `.xz` or `.zst`); it is an error when there
	// is none or more than one.
	ArtifactFile string `mapstructure:"artifact_file" required:"false"`
	// How the data reaches Glance: `auto`, `web-download` (Glance fetches
	// `image_source_url` itself; the plugin never touches the bytes), `glance-direct`
	// (the plugin stages the data, then asks Glance to import it) or `upload` (a plain
	// `PUT` of the data). `auto` (the default) uses `web-download` for a URL when the
	// cloud offers it, nothing needs the plugin's help (a checksum, `decompress =
	// true`, credentials or headers), and a look at the URL's first bytes shows data
	// that is not compressed, served with a length; otherwise it streams through the
	// plugin with `glance-direct` when `stores` or `all_stores` is set, else with
	// `upload`.
	ImportMethod string `mapstructure:"import_method" required:"false"`
	// Same as `import_method = "web-download"`, as in Terraform's
	// `openstack_images_image_v2`. Defaults to `false`.
	WebDownload bool `mapstructure:"web_download" required:"false"`
	// Whether the plugin decompresses the data while streaming it: `auto` (the
	// default) detects gzip, bzip2, xz and zstd by the data's first bytes (never by
	// HTTP headers or file names) and leaves anything else as it is; `true` fails
	// unless the data is compressed in one of those formats; `false` uploads the
	// bytes unchanged. Data is never decompressed to disk.
	Decompress string `mapstructure:"decompress" required:"false"`
	// The expected checksum of the source bytes (before decompression), in the form of
	// Packer's `iso_checksum`: `sha256:<hex>`, `sha512:<hex>`, `sha1:<hex>`,
	// `md5:<hex>`, a bare hex value (the algorithm is told by its length),
	// `file:<URL or path>` of a checksum file (GNU `sha256sum` style, BSD `SHA256
	// (name) = hex` style as in Fedora's `CHECKSUM` files, or a single value), or
	// `<algorithm>:file:<URL or path>`. It is verified while the data streams; a
	// mismatch deletes the new image and fails. Defaults to no check of the source
	// (the uploaded bytes are still compared with Glance's own hash).
	Checksum string `mapstructure:"checksum" required:"false"`
	// A user name for HTTP basic authentication when the plugin downloads
	// `image_source_url` (and a `file:` checksum URL on the same host). Needs
	// `image_source_password`.
	ImageSourceUsername string `mapstructure:"image_source_username" required:"false"`
	// The password for `image_source_username`. It is never written to logs.
	ImageSourcePassword string `mapstructure:"image_source_password" required:"false"`
	// Extra HTTP headers sent when the plugin downloads `image_source_url`, such as
	// `Authorization`. Their values are never written to logs.
	ImageSourceHeaders map[string]string `mapstructure:"image_source_headers" required:"false"`
	// Skip verification of the TLS certificate of `image_source_url` (and of a
	// checksum URL). The access config's `insecure` does not apply to downloads:
	// it is about the cloud's API. Defaults to `false`.
	SourceInsecure bool `mapstructure:"source_insecure" required:"false"`
	// A PEM file of CA certificates to trust, besides the system's and the access
	// config's `cacert`, for `image_source_url` and a checksum URL: for a source
	// behind a private CA.
	SourceCACert string `mapstructure:"source_cacert" required:"false"`
	// Stop the import when the image data, after decompression, grows past this
	// size, and delete the partial image: a guard against a decompression bomb or
	// a wrong URL filling the store. A number of bytes or a size with a unit, such
	// as `"40GiB"` or `"500MB"`. Setting it makes the plugin stream the data
	// itself (Glance's web-download cannot be bounded). Defaults to no limit.
	MaxImageSize string `mapstructure:"max_image_size" required:"false"`

	// maxImageSize is MaxImageSize in bytes.
	maxImageSize int64
}
