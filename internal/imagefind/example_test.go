package imagefind

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// sourceImageFilter is how a builder config can take the same filter options
// as the data source: `source_image_filter { filters { ... } most_recent = true }`.
// With `//go:generate packer-sdc mapstructure-to-hcl2 -type sourceImageFilter`
// the generated spec nests image.FlatFilter under `filters`.
type sourceImageFilter struct {
	Filters    Filter `mapstructure:"filters"`
	MostRecent bool   `mapstructure:"most_recent"`
}

// A builder validates the block in Prepare (no network call) and looks the
// image up at run time. In a real build the Finder comes from
// NewFinder(session); here an in-memory Glance stands in.
func ExampleFinder_Find() {
	cfg := sourceImageFilter{
		Filters:    Filter{Name: "Fedora-Cloud-Base-37-*", Properties: map[string]string{"os_distro": "fedora"}},
		MostRecent: true,
	}
	if errs := (Query{Filter: cfg.Filters, MostRecent: cfg.MostRecent}).Validate("source_image_filter.filters."); len(errs) > 0 {
		fmt.Println(errs)
		return
	}

	glance := &fakeGlance{images: []images.Image{
		img("id-1", "Fedora-Cloud-Base-37-1.6", 1, withProps("os_distro", "fedora")),
		img("id-2", "Fedora-Cloud-Base-37-1.7", 2, withProps("os_distro", "fedora")),
		img("id-3", "Fedora-Cloud-Base-37-1.8-beta", 3), // no os_distro property
	}}
	finder := Finder{Images: glance}
	found, err := finder.Find(context.Background(), Query{Filter: cfg.Filters, MostRecent: cfg.MostRecent})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(found.ID, found.Name)

	// source_image_name is an exact-name lookup.
	_, err = finder.Find(context.Background(), Query{Filter: Filter{Name: "Fedora-Cloud-Base-38"}})
	fmt.Println(err)
	// Output:
	// id-2 Fedora-Cloud-Base-37-1.7
	// no Glance image matches name = "Fedora-Cloud-Base-38", visibility unset (Glance lists public images, the project's own and accepted shared ones), hidden = false, status = "active" (default); Glance listed no image for these filters
}
