// Command report prints the Glance images with a given name, with their
// properties, using the plugin's own access layer (OS_CLOUD and clouds.yaml as
// the openstack client reads them). `make demo` uses it to show what was built.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: report IMAGE_NAME   (with OS_CLOUD / OS_CLIENT_CONFIG_FILE set)")
		os.Exit(2)
	}
	// The access layer logs each request for PACKER_LOG; this report only prints the image.
	if os.Getenv("PACKER_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := (&access.AccessConfig{}).Authenticate(ctx)
	if err != nil {
		return err
	}
	found, err := osapi.New(sess).Glance().ImagesNamed(ctx, name, "")
	if err != nil {
		return fmt.Errorf("listing images named %q: %w", name, err)
	}
	if len(found) == 0 {
		return fmt.Errorf("no image named %q", name)
	}
	for _, img := range found {
		fmt.Printf("Image %q\n", img.Name)
		fmt.Printf("  id          %s\n", img.ID)
		fmt.Printf("  status      %s\n", img.Status)
		fmt.Printf("  visibility  %s\n", img.Visibility)
		fmt.Printf("  formats     %s/%s\n", img.DiskFormat, img.ContainerFormat)
		fmt.Printf("  size        %d bytes, min_disk %d GB, min_ram %d MB\n", img.SizeBytes, img.MinDiskGigabytes, img.MinRAMMegabytes)
		fmt.Printf("  checksum    %s\n", img.Checksum)
		fmt.Printf("  tags        %s\n", strings.Join(img.Tags, ", "))
		keys := make([]string, 0, len(img.Properties))
		for k := range img.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Println("  properties")
		for _, k := range keys {
			fmt.Printf("    %-28s %v\n", k, img.Properties[k])
		}
	}
	return nil
}
