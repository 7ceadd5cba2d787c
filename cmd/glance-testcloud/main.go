// Command glance-testcloud runs the in-repo OpenStack test cloud standalone on 127.0.0.1.
//
//	go run ./cmd/glance-testcloud --clouds-yaml /tmp/clouds.yaml
//
// It prints a line containing "ready" once it answers and stops cleanly on SIGINT or SIGTERM.
// See docs/testcloud.md.
package main

import (
	"os"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

func main() {
	os.Exit(testcloud.Main(os.Args[1:], os.Stdout, os.Stderr))
}
