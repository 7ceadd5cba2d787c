//go:build tools

// Package tools pins the Packer version built by scripts/build-packer.sh.
package tools

import _ "github.com/hashicorp/packer"
