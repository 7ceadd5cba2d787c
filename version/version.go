// Package version holds the plugin's version. Releases set Version and blank
// VersionPrerelease through -ldflags; `make dev` builds with VersionPrerelease "dev".
package version

import sdkversion "github.com/hashicorp/packer-plugin-sdk/version"

var (
	// Version is the main version number of the plugin.
	Version = "0.1.0"
	// VersionPrerelease marks a pre-release such as "dev"; empty for releases.
	VersionPrerelease = "dev"
	// VersionMetadata is optional build metadata.
	VersionMetadata = ""
	// PluginVersion is what the plugin reports through `describe`.
	PluginVersion = sdkversion.NewPluginVersion(Version, VersionPrerelease, VersionMetadata)
)
