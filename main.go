// Command packer-plugin-glance is a Packer plugin that produces Glance images on any OpenStack cloud.
package main

import (
	"fmt"
	"log"
	"os"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/plugin"

	"github.com/packer-glance/packer-plugin-glance/builder/glance"
	"github.com/packer-glance/packer-plugin-glance/datasource/image"
	importpp "github.com/packer-glance/packer-plugin-glance/post-processor/import"
	"github.com/packer-glance/packer-plugin-glance/version"
)

func main() {
	// Everything the plugin logs goes through the SDK's secret filter, so a password,
	// token or credential secret registered in Prepare never reaches PACKER_LOG output.
	packersdk.LogSecretFilter.SetOutput(os.Stderr)
	log.SetOutput(&packersdk.LogSecretFilter)

	pps := plugin.NewSet()
	pps.RegisterBuilder(plugin.DEFAULT_NAME, new(glance.Builder))
	pps.RegisterDatasource("image", new(image.Datasource))
	pps.RegisterPostProcessor("import", new(importpp.PostProcessor))
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
