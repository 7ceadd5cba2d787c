//go:build tools

// Package tools pins the goreleaser version built by scripts/release-check.sh.
package tools

import _ "github.com/goreleaser/goreleaser/v2"
